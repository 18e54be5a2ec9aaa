"""Forms, their questions and options, responses with their answers, and survey participation.

Texts a person reads (title, intro, question, help, option label) are kept per language in a
small JSON object {"da": ..., "en": ..., "is": ...}: they are always read together with their
row and never searched, so a table per text would only add joins.

Old answers stay readable when questions change: a question or option that has been answered
is never deleted, only marked removed (it leaves the form, and stays in results and exports).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

LOCALES = ("da", "en", "is")
FORM_KINDS = ("event", "survey", "intake")
FORM_STATUSES = ("draft", "open", "closed")
AUDIENCES = ("users", "members", "group")
QUESTION_KINDS = (
    "short_text",
    "long_text",
    "one_choice",
    "many_choices",
    "number",
    "scale",
    "date",
    "yes_no",
)
CHOICE_KINDS = ("one_choice", "many_choices")


def text_in(texts: dict | None, locale: str, key: str | None = None) -> str:
    """The text in the locale, else Danish, English, Icelandic (the first that is filled in)."""
    texts = texts or {}
    for code in (locale, *LOCALES):
        value = texts.get(code)
        if isinstance(value, dict):
            value = value.get(key or "", "")
        if value and str(value).strip():
            return str(value)
    return ""


class Form(db.Model):
    """A form: an event's registration questions, a survey, or an intake form."""

    __tablename__ = "forms"
    __table_args__ = (
        CheckConstraint(f"kind IN {FORM_KINDS!r}", name="known_kind"),
        CheckConstraint(f"status IN {FORM_STATUSES!r}", name="known_status"),
        CheckConstraint(f"audience IN {AUDIENCES!r}", name="known_audience"),
        CheckConstraint("audience != 'group' OR group_id IS NOT NULL", name="group_has_group"),
        CheckConstraint("kind = 'survey' OR NOT anonymous", name="only_surveys_anonymous"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # {"da": {"title": ..., "intro": ...}, "en": {...}, "is": {...}}
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    audience: Mapped[str] = mapped_column(String(10), default="members")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_groups.id", ondelete="SET NULL"), index=True
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registration questions: the event whose registration page asks them.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="form", order_by="Question.position, Question.id"
    )
    event = relationship("Event")
    group = relationship("Group")

    def title(self, locale: str) -> str:
        return text_in(self.texts, locale, "title")

    def intro(self, locale: str) -> str:
        return text_in(self.texts, locale, "intro")

    @property
    def active_questions(self) -> list[Question]:
        """The questions a person is asked now (removed ones stay for old answers)."""
        return [q for q in self.questions if q.removed_at is None]


class Question(db.Model):
    """A question of a form; required or not; kept (marked removed) once answered."""

    __tablename__ = "form_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN {QUESTION_KINDS!r}", name="known_kind"),
        CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="range_order"
        ),
        Index("ix_form_questions_form_position", "form_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"da": {"text": ..., "help": ...}, ...}
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    min_value: Mapped[int | None] = mapped_column(Integer)
    max_value: Mapped[int | None] = mapped_column(Integer)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    form: Mapped[Form] = relationship(back_populates="questions")
    # A question is shown with its options: loaded for all of a form's questions at once.
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position, Option.id", lazy="selectin"
    )

    def text(self, locale: str) -> str:
        return text_in(self.texts, locale, "text")

    def help(self, locale: str) -> str:
        return text_in(self.texts, locale, "help")

    @property
    def active_options(self) -> list[Option]:
        return [o for o in self.options if o.removed_at is None]


class Option(db.Model):
    """A choice of a one-choice or several-choices question."""

    __tablename__ = "form_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("form_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[dict] = mapped_column(JSON, default=dict)  # {"da": ..., "en": ..., "is": ...}
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship(back_populates="options")

    def label(self, locale: str) -> str:
        return text_in(self.labels, locale)


def new_response_id() -> str:
    """A random key: its order says nothing about who answered when (anonymous surveys)."""
    return uuid.uuid4().hex


class Response(db.Model):
    """One person's answers to a form.

    Named: the user (and, for registration questions, the registration). Anonymous: no user,
    no time, a random key; the Participation row alone records that the person answered.
    """

    __tablename__ = "form_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    locale: Mapped[str | None] = mapped_column(String(5))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    form: Mapped[Form] = relationship()
    user = relationship("User")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(db.Model):
    """The answer to one question: text, a number, ISO date, true/false or a list of option ids.

    No serial id: a counter would number the answers in the order they came, which beside the
    participations' order could tell who gave an anonymous answer.
    """

    __tablename__ = "form_answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("form_responses.id", ondelete="CASCADE"), primary_key=True
    )
    # RESTRICT: an answered question cannot be deleted, only marked removed.
    question_id: Mapped[int] = mapped_column(
        ForeignKey("form_questions.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    value: Mapped[object] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


class Participation(db.Model):
    """That a person answered a survey or intake form; nothing points at their answers."""

    __tablename__ = "form_participations"
    # The guard: one answer per person and form, inserted in the response's transaction.
    __table_args__ = (
        UniqueConstraint("form_id", "user_id", name="uq_form_participations_form_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    # NULL once the person is anonymised: the count stays, the link goes.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
