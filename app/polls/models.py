"""Polls and elections: polls, questions, options, the frozen electorate, participation, ballots.

Secret ballots: a `Ballot` row has no user id, no time and a random primary key, so neither a
column nor the key's order links it to a voter; `Participation` records separately that a person
voted. Open ballots carry the voter's user id (staff see who voted what).
"""

from __future__ import annotations

import uuid
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

POLL_STATUSES = ("draft", "scheduled", "open", "closed", "published")
RESULTS_MODES = ("after_close", "live")
ELECTORATE_KINDS = ("members", "users", "group", "event")
QUESTION_KINDS = ("yes_no", "single", "multiple", "ranked")
# A yes/no question has exactly these three options (PollOption.value); labels are translated.
YES_NO_VALUES = ("yes", "no", "abstain")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(repr(v) for v in values) + ")"


class Poll(db.Model):
    """A vote or an election: questions, a schedule, an electorate and its settings."""

    __tablename__ = "polls"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(POLL_STATUSES)}", name="known_status"),
        CheckConstraint(f"results_mode IN {_in(RESULTS_MODES)}", name="known_results_mode"),
        CheckConstraint(f"electorate_kind IN {_in(ELECTORATE_KINDS)}", name="known_electorate"),
        CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at",
            name="closes_after_opening",
        ),
        # A secret ballot cannot be changed: that would need a link from the voter to it.
        CheckConstraint("NOT (secret AND may_change_vote)", name="change_only_open_ballots"),
        CheckConstraint("electorate_size >= 0", name="electorate_size_not_negative"),
        CheckConstraint(
            "reminder_hours_before IS NULL OR reminder_hours_before > 0",
            name="reminder_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secret: Mapped[bool] = mapped_column(Boolean, default=True)
    results_mode: Mapped[str] = mapped_column(String(12), default="after_close")
    may_change_vote: Mapped[bool] = mapped_column(Boolean, default=False)
    electorate_kind: Mapped[str] = mapped_column(String(12), default="members")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_groups.id", ondelete="SET NULL")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    # The reminder goes this many hours before closing to those who have not voted.
    reminder_hours_before: Mapped[int | None] = mapped_column(Integer)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by freeze_electorate when the poll opens, so that turnout is known.
    electorate_size: Mapped[int] = mapped_column(Integer, default=0)
    # Secret polls: how many ballots the last mix rewrote (ballots.mix_ballots), so the periodic
    # mix while the poll is open only runs when new ballots have come in.
    mixed_ballots: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    questions: Mapped[list[PollQuestion]] = relationship(
        back_populates="poll", order_by="PollQuestion.position", cascade="all, delete-orphan"
    )
    group = relationship("Group")
    event = relationship("Event")

    @property
    def is_open(self) -> bool:
        """Open for voting now (status open and not past its closing time)."""
        return self.status == "open" and (self.closes_at is None or utcnow() < self.closes_at)

    @property
    def is_editable(self) -> bool:
        """Questions and options may change only before the poll opens."""
        return self.status in ("draft", "scheduled")

    def __repr__(self) -> str:
        return f"<Poll {self.id} {self.status}>"


class PollQuestion(db.Model):
    """A question of a poll: yes/no/abstain, one choice, up to k choices, or ranked."""

    __tablename__ = "poll_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(QUESTION_KINDS)}", name="known_kind"),
        CheckConstraint("max_choices >= 1", name="max_choices_positive"),
        CheckConstraint("seats >= 1", name="seats_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(10), default="single")
    # "multiple": at most this many options; other kinds ignore it.
    max_choices: Mapped[int] = mapped_column(Integer, default=1)
    # "ranked": seats to fill (1 = instant runoff, more = STV with the Droop quota).
    seats: Mapped[int] = mapped_column(Integer, default=1)

    poll: Mapped[Poll] = relationship(back_populates="questions")
    # A question is always shown with its options: loaded for all of a poll's questions at once.
    options: Mapped[list[PollOption]] = relationship(
        back_populates="question",
        order_by="PollOption.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    def add_yes_no_options(self) -> None:
        """Give a yes/no question its three fixed options (labels are translated on display)."""
        for position, value in enumerate(YES_NO_VALUES):
            self.options.append(PollOption(position=position, text=value, value=value))


class PollOption(db.Model):
    """An option (a candidate, an answer) of a question."""

    __tablename__ = "poll_options"
    __table_args__ = (
        CheckConstraint(f"value IS NULL OR value IN {_in(YES_NO_VALUES)}", name="known_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("poll_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
    # yes/no questions only: what the option means ("yes", "no", "abstain").
    value: Mapped[str | None] = mapped_column(String(10))

    question: Mapped[PollQuestion] = relationship(back_populates="options")


class Elector(db.Model):
    """A person in a poll's electorate, fixed when the poll opened."""

    __tablename__ = "poll_electors"
    __table_args__ = (UniqueConstraint("poll_id", "user_id", name="uq_poll_electors_poll_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    # NULL once the person is anonymised (the electorate's size stays in Poll.electorate_size).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class Participation(db.Model):
    """That a person voted in a poll; no time and nothing that points at their ballot."""

    __tablename__ = "poll_participations"
    # The guard: one participation per person and poll, inserted in the ballot's transaction.
    __table_args__ = (
        UniqueConstraint("poll_id", "user_id", name="uq_poll_participations_poll_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    # NULL once the person is anonymised: the count stays, the link goes.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


def new_ballot_id() -> str:
    """A random ballot key (its order says nothing about when the ballot was cast)."""
    return uuid.uuid4().hex


class Ballot(db.Model):
    """A cast ballot. Secret: no voter, no time, a random key; open: the voter's user id."""

    __tablename__ = "poll_ballots"
    __table_args__ = (
        # Open ballots: one per voter (NULLs, i.e. secret ballots, do not collide).
        UniqueConstraint("poll_id", "user_id", name="uq_poll_ballots_poll_user"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_ballot_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    # SHA-256 (hex) of the receipt code shown once to the voter; the code itself is never stored.
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    choices: Mapped[list[BallotChoice]] = relationship(
        back_populates="ballot", cascade="all, delete-orphan"
    )


class BallotChoice(db.Model):
    """An option chosen on a ballot; rank is the preference (1 first) on ranked questions."""

    __tablename__ = "poll_ballot_choices"
    __table_args__ = (
        UniqueConstraint("ballot_id", "question_id", "rank", name="uq_ballot_choices_rank"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        Index("ix_poll_ballot_choices_question", "question_id"),
    )

    ballot_id: Mapped[str] = mapped_column(
        ForeignKey("poll_ballots.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer, default=1)

    ballot: Mapped[Ballot] = relationship(back_populates="choices")
