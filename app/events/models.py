"""Events, their registration terms and slugs, and registrations (which carry the ticket)."""

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
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.events.tickets import short_code
from app.extensions import db

EVENT_STATUSES = ("draft", "published", "cancelled")
REGISTRATION_STATES = ("confirmed", "waiting", "cancelled")


class Event(db.Model):
    """Something members can register for."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        # The last line of defence against overbooking; services use a conditional UPDATE.
        CheckConstraint(
            "capacity IS NULL OR confirmed_count <= capacity", name="confirmed_within_capacity"
        ),
        CheckConstraint("confirmed_count >= 0", name="confirmed_not_negative"),
        CheckConstraint(f"status IN {EVENT_STATUSES!r}", name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), index=True)
    summary: Mapped[str] = mapped_column(String(500), default="")
    description_html: Mapped[str] = mapped_column(Text, default="")  # rendered, sanitised
    # The organiser's Markdown ("" for events written before it: their HTML stays as it was).
    description_markdown: Mapped[str] = mapped_column(Text, default="", server_default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_list_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    image_key: Mapped[str | None] = mapped_column(String(200))
    image_list_key: Mapped[str | None] = mapped_column(String(200))
    image_detail_key: Mapped[str | None] = mapped_column(String(200))
    # Ed25519 key pair for signing ticket codes: private key encrypted (core/crypto), public raw.
    signing_key_encrypted: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    terms: Mapped[list[RegistrationTerms]] = relationship(
        back_populates="event", order_by="RegistrationTerms.version", cascade="all, delete-orphan"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="dynamic"
    )

    @property
    def current_terms(self) -> RegistrationTerms | None:
        return self.terms[-1] if self.terms else None

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed_count, 0)


class EventSlug(db.Model):
    """An earlier slug of an event, so old links redirect to the current one."""

    __tablename__ = "event_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(220))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationTerms(db.Model):
    """A version of an event's registration terms; registrations record the one accepted."""

    __tablename__ = "registration_terms"
    __table_args__ = (UniqueConstraint("event_id", "version", name="uq_terms_event_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(back_populates="terms")


class Registration(db.Model):
    """A person's place at an event: confirmed (with a ticket), waiting, or cancelled."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_registrations_event_user"),
        UniqueConstraint("event_id", "short_code", name="uq_registrations_event_short_code"),
        CheckConstraint(f"state IN {REGISTRATION_STATES!r}", name="known_state"),
        CheckConstraint(
            "checked_in_at IS NULL OR state = 'confirmed'", name="checked_in_only_confirmed"
        ),
        Index("ix_registrations_event_state", "event_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A snapshot for the door and lists (and for people added by hand without an account).
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Waiting-list order: earliest first.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terms_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration_terms.id", ondelete="SET NULL")
    )
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Language for e-mails to people added by hand without an account (else the user's own).
    locale: Mapped[str | None] = mapped_column(String(5))
    # The ticket: set when the registration is confirmed (see events/tickets.py).
    ticket_code: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Typed at the door when a phone will not scan; set with the code (see below).
    short_code: Mapped[str | None] = mapped_column(String(8))
    ticket_qr_key: Mapped[str | None] = mapped_column(String(200))
    ticket_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    event: Mapped[Event] = relationship(back_populates="registrations")
    user = relationship("User", foreign_keys=[user_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])
    terms = relationship("RegistrationTerms")


@event.listens_for(Registration.ticket_code, "set")
def _set_short_code(registration: Registration, value, _old, _initiator) -> None:
    """Every ticket code gets its short code (a new code, a new short code)."""
    registration.short_code = short_code(value) if value else None


class EventMessage(db.Model):
    """A message from the organisers to everyone confirmed for an event, sent in batches."""

    __tablename__ = "event_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)

    sent_by = relationship("User")
