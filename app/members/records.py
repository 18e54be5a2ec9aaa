"""The member record: its fields, reading a membership, the national ID, editing the record and
staff notes.

The national ID is only ever handled through app.members.national_id; it is never logged and
never written to the audit log in clear.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ScalarSelect, select
from sqlalchemy.exc import IntegrityError

from app.core import audit, glance
from app.core.errors import Conflict, DomainError
from app.core.timeutil import utcnow
from app.extensions import db
from app.members import national_id
from app.members.models import Membership, MembershipEvent, StaffNote, UnionMembership
from app.members.validation import _text, clean_value
from app.webhooks.services import emit

ADDRESS_FIELDS = (
    "street",
    "house_number",
    "apartment",
    "postal_code",
    "city",
    "municipality",
    "region",
    "country",
)
# Fields a member may change in their own record; staff may change these and STAFF_FIELDS.
RECORD_FIELDS = (
    "full_name",
    "birthday",
    "gender",
    "phone",
    "secondary_email",
    *ADDRESS_FIELDS,
    "job_title",
    "housing",
)
# Not the status: it changes only through the lifecycle (app/members/lifecycle.py), which also
# takes an ending member out of groups and titles.
STAFF_FIELDS = (*RECORD_FIELDS, "joined_on", "is_test", "national_id_country")
STATUS_NOT_EDITABLE = _l(
    "The status changes only through the membership's steps: approve, reject, end or reactivate."
)


def is_active_member(user) -> bool:
    """True when the user has a membership whose status is active."""
    if user is None or not getattr(user, "is_authenticated", False) or user.id is None:
        return False
    status = db.session.scalar(select(Membership.status).where(Membership.user_id == user.id))
    return status == "active"


def membership_of(user) -> Membership | None:
    """The user's member record (any status), or None."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(Membership).where(Membership.user_id == user.id))


@glance.item("membership_status")
def membership_status(user_id, now=None) -> ScalarSelect:
    """My membership's status, None without one (my page's membership card)."""
    return select(Membership.status).where(Membership.user_id == user_id).scalar_subquery()


@glance.item("membership_joined_on")
def membership_joined_on(user_id, now=None) -> ScalarSelect:
    return select(Membership.joined_on).where(Membership.user_id == user_id).scalar_subquery()


def find_by_national_id(value: str) -> Membership | None:
    """Exact lookup through the keyed hash; the number itself is never compared in clear."""
    if not national_id.normalise(value):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.national_id_hash == national_id.lookup(value))
    )


def set_national_id(membership: Membership, country: str, value: str | None) -> None:
    """Validate, check uniqueness, then store encrypted with its hash and masked form."""
    if not national_id.normalise(value):
        membership.national_id_encrypted = None
        membership.national_id_hash = None
        membership.national_id_masked = ""
        membership.national_id_country = country
        return
    normalised = national_id.validate(country, value)
    digest = national_id.lookup(normalised)
    taken = db.session.scalar(
        select(Membership.id).where(
            Membership.national_id_hash == digest, Membership.id != membership.id
        )
    )
    if taken is not None:
        raise Conflict(
            _l("This national ID number is already in use by another member."), field="national_id"
        )
    encoded = national_id.birthday_from(country, normalised)
    if encoded and membership.birthday and membership.birthday != encoded:
        raise DomainError(
            _l("The birthday does not match the national ID number."), field="birthday"
        )
    if encoded and not membership.birthday:
        membership.birthday = encoded
    membership.national_id_country = country
    membership.national_id_hash = digest
    membership.national_id_encrypted = national_id.encrypt(normalised)
    membership.national_id_masked = national_id.mask(country, normalised)


def flush_unique() -> None:
    """Flush; a unique national ID taken by a concurrent request becomes a clear error."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        if "national_id" in str(exc.orig):
            raise Conflict(
                _l("This national ID number is already in use by another member."),
                field="national_id",
            ) from None
        raise


def _snapshot(membership: Membership, fields) -> dict[str, Any]:
    values = {}
    for field in fields:
        value = getattr(membership, field)
        values[field] = value.isoformat() if isinstance(value, date) else value
    return values


def add_history(
    membership: Membership, action: str, from_status, to_status, actor_id, reason=""
) -> None:
    """One step of the membership's history (applied, approved, ended, anonymised...)."""
    membership.history.append(
        MembershipEvent(
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason or "",
            by_id=actor_id,
            at=utcnow(),
        )
    )


def update_record(
    membership: Membership,
    values: dict[str, Any],
    actor_id: int | None,
    allowed: tuple[str, ...] = RECORD_FIELDS,
    unions: list[tuple[str, str]] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Change the given fields; every change is audit-logged field by field (before and after).

    A "national_id" key changes the number (staff only, through allowed); it is audited masked.
    The status is never changed here (STATUS_NOT_EDITABLE).
    """
    if "status" in values:
        raise DomainError(STATUS_NOT_EDITABLE, field="status")
    unknown = set(values) - set(allowed) - ({"national_id"} if "national_id" in allowed else set())
    if unknown:
        field = sorted(unknown)[0]
        raise DomainError(_l("This field cannot be changed here."), field=field)
    fields = [f for f in values if f != "national_id"]
    cleaned = {field: clean_value(field, values[field]) for field in fields}
    tracked = list(dict.fromkeys([*fields, "birthday"]))
    before = _snapshot(membership, tracked)
    old_country, old_hash = membership.national_id_country, membership.national_id_hash
    old_masked = membership.national_id_masked
    for field, value in cleaned.items():
        setattr(membership, field, value)
    recheck = "national_id" in values or membership.national_id_country != old_country
    if recheck or ("birthday" in cleaned and membership.national_id_encrypted):
        if "national_id" in values:
            new_value = values["national_id"]
        else:
            new_value = national_id.decrypt(membership.national_id_encrypted)
        set_national_id(membership, membership.national_id_country, new_value)
    after = _snapshot(membership, tracked)
    changed_before = {f: before[f] for f in tracked if before[f] != after[f]}
    changed_after = {f: after[f] for f in tracked if before[f] != after[f]}
    if membership.national_id_hash != old_hash:
        changed_before["national_id"] = old_masked
        changed_after["national_id"] = membership.national_id_masked
    if "phone" in changed_after:
        membership.phone_digits = re.sub(r"\D", "", membership.phone)
    if "birthday" in changed_after:
        membership.birth_year = membership.birthday.year if membership.birthday else None
    if unions is not None:
        old = [(u.union, u.member_number) for u in membership.unions]
        new = [
            (_text("union", a)[:200], _text("union", b)[:60])
            for a, b in unions
            if (a or "").strip()
        ]
        if old != new:
            membership.unions.clear()
            for union, number in new:
                membership.unions.append(UnionMembership(union=union, member_number=number))
            changed_before["unions"] = [list(u) for u in old]
            changed_after["unions"] = [list(u) for u in new]
    if changed_after:
        membership.updated_at = utcnow()  # also for unions, which live in their own table
    flush_unique()
    if changed_after:
        audit.record(
            "member.updated",
            "membership",
            membership.id,
            changed_before,
            changed_after,
            actor_id=actor_id,
            subject_user_id=membership.user_id,
        )
        emit("member.updated", member_event(membership, sorted(changed_after)))
    return {f: (changed_before[f], changed_after[f]) for f in changed_after}


def member_event(membership: Membership, changed: list[str] | None = None) -> dict[str, Any]:
    """A membership's webhook payload: ids and status (and which fields changed), no details."""
    data: dict[str, Any] = {
        "membership_id": membership.id,
        "user_id": membership.user_id,
        "status": membership.status,
    }
    if changed is not None:
        data["changed"] = changed
    return data


def add_note(
    membership: Membership, text: str, tags: str | list[str] | None, actor_id: int
) -> StaffNote:
    """A staff note with tags (comma-separated or a list; none when the field was not sent)."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("Write the note."), field="text")
    if isinstance(tags, str | None):
        tags = (tags or "").split(",")
    tags = sorted({t.strip().lower()[:40] for t in tags if t and t.strip()})
    note = StaffNote(membership=membership, text=text[:10000], tags=tags, author_id=actor_id)
    db.session.add(note)
    db.session.flush()
    audit.record(
        "member.note_added",
        "membership",
        membership.id,
        after={"note_id": note.id, "tags": tags},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    return note
