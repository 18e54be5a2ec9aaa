"""Conversations between a person (visitor or member) and the association, and their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

STATES = ("new", "open", "waiting", "closed", "spam")
ORIGINS = ("contact", "member", "staff")
KINDS = ("message", "note")


class Conversation(db.Model):
    """One thread: a contact-form submission, or messages between a member and the staff."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(
            "state IN ('new', 'open', 'waiting', 'closed', 'spam')", name="known_state"
        ),
        CheckConstraint("origin IN ('contact', 'member', 'staff')", name="known_origin"),
        # The navigation's unread counts: one indexed count each side.
        Index("ix_conversations_user_unread", "user_id", "unread_by_person"),
        Index("ix_conversations_staff_unread", "unread_by_staff", "state"),
        Index("ix_conversations_state_last", "state", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="new")
    # The person: an account when there is one; a visitor is known by name and address only.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Why a submission went to the spam folder (honeypot, too_fast, bad_token).
    spam_reason: Mapped[str | None] = mapped_column(String(20))
    # The contact form's one-time token: a double submit finds the conversation it made.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    unread_by_person: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_by_staff: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    messages: Mapped[list[ConversationMessage]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        order_by="ConversationMessage.id",
    )

    @property
    def recipient_locale(self) -> str:
        """The person's language: their account's, else the one they wrote in."""
        return self.user.locale if self.user is not None else self.locale


class ConversationMessage(db.Model):
    """A message in a conversation, or an internal note that only staff see."""

    __tablename__ = "conversation_messages"
    __table_args__ = (CheckConstraint("kind IN ('message', 'note')", name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10), default="message")
    from_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    author = relationship("User", foreign_keys=[author_id], lazy="joined")  # shown with it
