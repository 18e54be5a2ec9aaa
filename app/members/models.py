"""Membership records, consents, titles, groups and staff notes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Date,
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
from app.extensions import db

MEMBERSHIP_STATUSES = ("applied", "active", "rejected", "resigned")
CONSENT_KINDS = ("reachable", "groupable", "newsletter")
TITLE_KINDS = (
    "chair",
    "vice_chair",
    "treasurer",
    "secretary",
    "board_member",
    "substitute",
    "custom",
)
GROUP_KINDS = ("cell", "committee", "squadron", "department", "other")
GROUP_ROLES = ("member", "lead", "officer", "custom")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(repr(v) for v in values) + ")"


class Membership(db.Model):
    """A person's member record: one per user, whatever its status."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(MEMBERSHIP_STATUSES)}", name="known_status"),
        # Directory search and sorting over tens of thousands of members (see bench/README.md).
        Index(
            "ix_memberships_full_name_trgm",
            "full_name",
            postgresql_using="gin",
            postgresql_ops={"full_name": "gin_trgm_ops"},
        ),
        Index("ix_memberships_status_test_name", "status", "is_test", "full_name"),
        Index("ix_memberships_full_name_id", "full_name", "id"),
        Index("ix_memberships_joined_on", "joined_on"),
        Index("ix_memberships_municipality", "municipality"),
        Index("ix_memberships_phone_digits", "phone_digits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="applied")
    # National ID: encrypted (app.core.crypto) with a keyed hash beside it for exact lookup.
    national_id_country: Mapped[str] = mapped_column(String(2), default="IS")
    national_id_encrypted: Mapped[str | None] = mapped_column(Text)
    national_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Only the part shown to everyone (120190-****), so lists need no decryption.
    national_id_masked: Mapped[str] = mapped_column(String(20), default="")
    full_name: Mapped[str] = mapped_column(String(200), default="")
    birthday: Mapped[date | None] = mapped_column(Date)
    # Kept after anonymisation, for statistics.
    birth_year: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    phone_digits: Mapped[str] = mapped_column(String(40), default="")
    secondary_email: Mapped[str] = mapped_column(String(320), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    house_number: Mapped[str] = mapped_column(String(20), default="")
    apartment: Mapped[str] = mapped_column(String(40), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    municipality: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="IS")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    housing: Mapped[str] = mapped_column(String(100), default="")
    joined_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    unions: Mapped[list[UnionMembership]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", order_by="UnionMembership.id"
    )
    history: Mapped[list[MembershipEvent]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", order_by="MembershipEvent.at"
    )
    titles: Mapped[list[Title]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", order_by="Title.starts_on"
    )
    group_links: Mapped[list[GroupMember]] = relationship(
        back_populates="membership", cascade="all, delete-orphan"
    )
    notes: Mapped[list[StaffNote]] = relationship(
        back_populates="membership",
        cascade="all, delete-orphan",
        order_by="StaffNote.created_at.desc()",
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __repr__(self) -> str:
        return f"<Membership {self.id} {self.status}>"


class MembershipEvent(db.Model):
    """The history of a membership's status: applied, approved, rejected, resigned, ended."""

    __tablename__ = "membership_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    membership: Mapped[Membership] = relationship(back_populates="history")
    by = relationship("User", foreign_keys=[by_id])


class UnionMembership(db.Model):
    """A trade union the member belongs to, with their number there."""

    __tablename__ = "union_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    union: Mapped[str] = mapped_column(String(200))
    member_number: Mapped[str] = mapped_column(String(60), default="")

    membership: Mapped[Membership] = relationship(back_populates="unions")


class Consent(db.Model):
    """The current state of one consent of one person (reachable, groupable, newsletter)."""

    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", name="uq_consents_user_kind"),
        CheckConstraint(f"kind IN {_in(CONSENT_KINDS)}", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    given: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEvent(db.Model):
    """One change of a consent: given or withdrawn, when, by whom, against which text."""

    __tablename__ = "consent_events"
    __table_args__ = (CheckConstraint(f"kind IN {_in(CONSENT_KINDS)}", name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    given: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # How it happened (form, staff, unsubscribe link, import) and the wording shown at the time.
    source: Mapped[str] = mapped_column(String(20), default="form")
    text: Mapped[str] = mapped_column(Text, default="")

    by = relationship("User", foreign_keys=[by_id])


class Group(db.Model):
    """A local cell, committee, squadron or department."""

    __tablename__ = "member_groups"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(GROUP_KINDS)}", name="known_kind"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("member_count >= 0", name="member_count_not_negative"),
        # The last line against overfilling; joining uses a conditional UPDATE.
        CheckConstraint(
            "capacity IS NULL OR member_count <= capacity", name="members_within_capacity"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_groups.id", ondelete="SET NULL"), index=True
    )
    capacity: Mapped[int | None] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    recruiting: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Group | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Group]] = relationship(back_populates="parent", order_by="Group.name")
    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.member_count < self.capacity


class GroupMember(db.Model):
    """A member's place in a group, with their role there."""

    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "membership_id", name="uq_group_members_group_membership"),
        CheckConstraint(f"role IN {_in(GROUP_ROLES)}", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("member_groups.id", ondelete="CASCADE"), index=True
    )
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    custom_role: Mapped[str] = mapped_column(String(100), default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    # A member's links are shown with their groups' names: loaded with them (small rows).
    group: Mapped[Group] = relationship(back_populates="members", lazy="joined", innerjoin=True)
    membership: Mapped[Membership] = relationship(back_populates="group_links")


class Title(db.Model):
    """A position held over time (chair, treasurer, ...), optionally within a group."""

    __tablename__ = "member_titles"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(TITLE_KINDS)}", name="known_kind"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    custom_title: Mapped[str] = mapped_column(String(100), default="")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_groups.id", ondelete="SET NULL"), index=True
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    membership: Mapped[Membership] = relationship(back_populates="titles")
    group: Mapped[Group | None] = relationship(lazy="joined")  # shown with the title


class StaffNote(db.Model):
    """A note about a member, written by and visible to membership staff."""

    __tablename__ = "member_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    membership: Mapped[Membership] = relationship(back_populates="notes")
    author = relationship("User", foreign_keys=[author_id])


IMPORT_STATES = (
    "queued",  # uploaded; the check job has not started
    "checking",
    "ready",  # every row is valid; waiting for staff to confirm
    "invalid",  # rows or the file have problems; nothing written
    "confirmed",  # staff confirmed; the write job has not started
    "importing",
    "done",
    "failed",  # the write found a problem and wrote nothing
    "expired",  # not confirmed (or stuck) within an hour; the file was swept
)
IMPORT_BUSY_STATES = ("queued", "checking", "confirmed", "importing")


class MemberImport(db.Model):
    """One uploaded CSV file of members: checked, then written by background jobs.

    The file itself is kept encrypted in private storage only while it is needed (file_key).
    """

    __tablename__ = "member_imports"
    __table_args__ = (CheckConstraint(f"state IN {_in(IMPORT_STATES)}", name="known_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    file_key: Mapped[str | None] = mapped_column(String(200))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent of the current step
    imported_count: Mapped[int | None] = mapped_column(Integer)
    # What the page shows: file errors, the rows with problems, a sample of valid rows.
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def busy(self) -> bool:
        return self.state in IMPORT_BUSY_STATES


# The trigram index on names needs pg_trgm; create_all (tests, benchmarks) makes it here and the
# migration must run the same statement (CREATE EXTENSION needs a superuser or a trusted extension).
event.listen(
    Membership.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
