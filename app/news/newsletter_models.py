"""Newsletters (per-language texts, audience, send state) and subscribers without an account.

People without an account are kept in their own table (`newsletter_subscribers`) rather than as
consents with a null user: a consent row belongs to a user, and a subscriber is only an address.
The row records the consent like a member's: when it was asked for, when confirmed (double
opt-in), the wording shown, the source, and when it was withdrawn.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

AUDIENCES = ("newsletter", "members", "group", "event")
NEWSLETTER_STATES = ("draft", "sending", "sent")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class NewsletterSubscriber(db.Model):
    """An address without an account that asked for the newsletter (double opt-in)."""

    __tablename__ = "newsletter_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    locale: Mapped[str] = mapped_column(String(5))
    # How it was given (the public form) and the wording shown at the time.
    source: Mapped[str] = mapped_column(String(20), default="subscribe_form")
    consent_text: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Newsletter(db.Model):
    """One newsletter: its texts per language, its audience, and whether it went out."""

    __tablename__ = "newsletters"
    __table_args__ = (
        CheckConstraint(f"audience IN {_in(AUDIENCES)}", name="known_audience"),
        CheckConstraint(f"state IN {_in(NEWSLETTER_STATES)}", name="known_state"),
        CheckConstraint("language IN ('da', 'en', 'is')", name="known_language"),
        Index("ix_newsletters_state_sent_at", "state", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(5))  # the original: the fallback text
    audience: Mapped[str] = mapped_column(String(12), default="newsletter")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_groups.id", ondelete="SET NULL")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    # A notice members must get (a general meeting): sent without the newsletter consent.
    required_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A newsletter is shown by its texts: loaded for all the newsletters of a list at once.
    texts: Mapped[list[NewsletterText]] = relationship(
        back_populates="newsletter",
        cascade="all, delete-orphan",
        order_by="NewsletterText.locale",
        lazy="selectin",
    )

    @property
    def batch_key(self) -> str:
        return f"newsletter:{self.id}"

    def text_for(self, locale: str) -> NewsletterText | None:
        """The text in a language, else the original's."""
        by_locale = {text.locale: text for text in self.texts}
        return by_locale.get(locale) or by_locale.get(self.language)


class NewsletterText(db.Model):
    """A newsletter's subject and Markdown body in one language."""

    __tablename__ = "newsletter_texts"
    __table_args__ = (
        UniqueConstraint("newsletter_id", "locale", name="uq_newsletter_texts_newsletter_locale"),
        CheckConstraint("locale IN ('da', 'en', 'is')", name="known_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")

    newsletter: Mapped[Newsletter] = relationship(back_populates="texts")
