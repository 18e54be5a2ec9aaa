"""The scan log: every scan at the door, successful or not, and every undo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

# The answers of POST /api/v1/checkin (DESIGN.md), and what an undo can answer.
SCAN_RESULTS = (
    "ok",
    "already_checked_in",
    "wrong_event",
    "cancelled",
    "not_confirmed",
    "unknown",
)
UNDO_RESULTS = ("undone", "not_checked_in")
SCAN_SOURCES = ("api", "door", "offline", "staff")
SCAN_ACTIONS = ("checkin", "undo")


class Scan(db.Model):
    """One scan (or undo) at an event's door: who, on which device, when, with what answer."""

    __tablename__ = "checkin_scans"
    __table_args__ = (
        CheckConstraint(f"result IN {SCAN_RESULTS + UNDO_RESULTS!r}", name="known_result"),
        CheckConstraint(f"source IN {SCAN_SOURCES!r}", name="known_source"),
        CheckConstraint(f"action IN {SCAN_ACTIONS!r}", name="known_action"),
        Index("ix_checkin_scans_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    # Who scanned (the session's user, or the API token's user).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    device: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10), default="checkin")
    # The client's idempotency key: a retry with the same nonce gets the stored answer.
    nonce: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The middle part of the scanned code (not secret); None when the text was not a code.
    ticket_ref: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(24))
    # The answer given: when and by whom the registration was checked in.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # For scans queued offline: whether the device let the person in (None for online scans).
    offline_accepted: Mapped[bool | None] = mapped_column(Boolean)
    # When the device scanned (differs from created_at for scans queued offline).
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event = relationship("Event")
    registration = relationship("Registration")
    user = relationship("User", foreign_keys=[user_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])

    @property
    def is_conflict(self) -> bool:
        """Let in by a device while offline, but refused by the server when it synced (for
        example checked in meanwhile on another device)."""
        return bool(self.offline_accepted) and self.result != "ok"
