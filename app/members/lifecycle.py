"""The membership lifecycle: apply, approve, reject, end; each step in the history, the audit log
and an e-mail to the member.

Services validate, change the session, flush and raise DomainError; routes commit once.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core import audit
from app.core.errors import Conflict, DomainError, Forbidden
from app.core.http import absolute_url
from app.core.mail import queue_mail
from app.core.timeutil import local_today, utcnow
from app.core.unique import add_once
from app.extensions import db
from app.members import groups, national_id
from app.members.consents import set_consents
from app.members.models import Membership, UnionMembership
from app.members.records import (
    RECORD_FIELDS,
    add_history,
    flush_unique,
    member_event,
    set_national_id,
)
from app.members.titles import current_titles
from app.members.validation import clean_country, clean_value, default_country
from app.webhooks.services import emit

STATUS_LABELS = {
    "applied": _l("Applied"),
    "active": _l("Active"),
    "rejected": _l("Rejected"),
    "resigned": _l("Resigned"),
}
EVENT_LABELS = {
    "applied": _l("Applied"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "resigned": _l("Resigned"),
    "ended": _l("Ended by staff"),
    "edited": _l("Status changed by staff"),
    "reactivated": _l("Reactivated by staff"),
    "imported": _l("Imported"),
    "anonymised": _l("Anonymised"),
}


class AlreadyMember(Conflict):
    code = "already_member"


def _mail(membership: Membership, template: str, key: str, **context) -> None:
    user = membership.user
    me_link = absolute_url("members.me")  # also from jobs, the CLI and imports
    queue_mail(
        user.email,
        template,
        user.locale,
        {"name": membership.full_name or user.name, "link": me_link, **context},
        key=key,
        user_id=user.id,
    )


def apply(
    user: User,
    values: dict[str, Any],
    consents: dict[str, bool],
    unions: list[tuple[str, str]] | None = None,
) -> Membership:
    """A verified user applies; the record waits as applied (or is approved at once when set so)."""
    if not user.is_verified:
        raise Forbidden(_l("Confirm your e-mail address before you apply."))
    # Locked, so that an application sent twice at once is decided once; the second waits here
    # and then finds it applied.
    membership = db.session.scalar(
        select(Membership)
        .where(Membership.user_id == user.id)
        .with_for_update(of=Membership)
        .execution_options(populate_existing=True)
    )
    if membership is not None and membership.status in ("applied", "active"):
        if membership.status == "active":
            raise AlreadyMember(_l("You are a member already."))
        raise AlreadyMember(_l("Your application is already waiting for a decision."))
    previous = membership.status if membership else None
    if membership is None:
        # A first application: the row first (one per user), so that the second of two sent at
        # once stops at the unique user_id instead of failing at the end.
        membership = Membership(user_id=user.id, status="applied")
        if not add_once(membership):
            raise AlreadyMember(_l("Your application is already waiting for a decision."))
    values = {**values, "country": values.get("country") or default_country()}
    cleaned = {field: clean_value(field, values.get(field)) for field in RECORD_FIELDS}
    country = clean_country(
        values.get("national_id_country") or default_country(), "national_id_country"
    )
    for field, value in cleaned.items():
        setattr(membership, field, value)
    membership.phone_digits = re.sub(r"\D", "", membership.phone)
    membership.birth_year = membership.birthday.year if membership.birthday else None
    required = current_app.config.get("MEMBERSHIP_NATIONAL_ID_REQUIRED", False)
    if required and not national_id.normalise(values.get("national_id")):
        raise DomainError(_l("Enter the national ID number."), field="national_id")
    set_national_id(membership, country, values.get("national_id"))
    membership.birth_year = membership.birthday.year if membership.birthday else None
    membership.unions = [
        UnionMembership(union=union[:200], member_number=number[:60])
        for union, number in (unions or [])
    ]
    membership.status = "applied"
    membership.applied_at = utcnow()
    membership.decided_at = membership.decided_by_id = None
    membership.decision_reason = ""
    membership.ended_on = None
    flush_unique()
    add_history(membership, "applied", previous, "applied", user.id)
    set_consents(user, consents, actor_id=user.id, source="application")
    audit.record(
        "member.applied", "membership", membership.id, actor_id=user.id, subject_user_id=user.id
    )
    if current_app.config.get("MEMBERSHIP_AUTO_APPROVE"):
        approve(membership, actor_id=None, automatic=True)
    else:
        _mail(
            membership,
            "membership_received",
            f"membership-received:{membership.id}:{len(membership.history)}",
        )
    db.session.flush()
    return membership


def _lock(membership: Membership) -> Membership:
    """The record re-read under a row lock: of two steps sent at once (a double click, two staff
    members), the second waits and then sees the first one's result."""
    if membership.id is not None:
        db.session.scalar(
            select(Membership)
            .where(Membership.id == membership.id)
            .with_for_update(of=Membership)
            .execution_options(populate_existing=True)
        )
    return membership


def approve(membership: Membership, actor_id: int | None, automatic: bool = False) -> Membership:
    """Accept an application: the member is active from today and gets a welcome e-mail."""
    _lock(membership)
    if membership.status != "applied":
        raise Conflict(_l("Only a waiting application can be approved."))
    membership.status = "active"
    membership.joined_on = membership.joined_on or local_today()
    membership.decided_at, membership.decided_by_id = utcnow(), actor_id
    reason = "automatic" if automatic else ""
    add_history(membership, "approved", "applied", "active", actor_id, reason)
    db.session.flush()
    audit.record(
        "member.approved",
        "membership",
        membership.id,
        {"status": "applied"},
        {"status": "active", "automatic": automatic},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    emit("member.created", member_event(membership))
    _mail(
        membership,
        "membership_welcome",
        f"membership-welcome:{membership.id}:{len(membership.history)}",
    )
    return membership


def reject(membership: Membership, actor_id: int, reason: str) -> Membership:
    """Refuse an application with a reason, which the applicant is told."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Give a reason; the applicant will read it."), field="reason")
    _lock(membership)
    if membership.status != "applied":
        raise Conflict(_l("Only a waiting application can be rejected."))
    membership.status = "rejected"
    membership.decided_at, membership.decided_by_id = utcnow(), actor_id
    membership.decision_reason = reason
    add_history(membership, "rejected", "applied", "rejected", actor_id, reason)
    db.session.flush()
    audit.record(
        "member.rejected",
        "membership",
        membership.id,
        {"status": "applied"},
        {"status": "rejected", "reason": reason},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    _mail(
        membership,
        "membership_rejected",
        f"membership-rejected:{membership.id}:{len(membership.history)}",
        reason=reason,
    )
    return membership


def _leave_everything(membership: Membership) -> None:
    """On ending a membership: out of every group, current titles end today."""
    for link in list(membership.group_links):
        groups.remove_link(link)
    today = local_today()
    for title in current_titles(membership, today):
        title.ends_on = max(today, title.starts_on)


def end_membership(
    membership: Membership, actor_id: int | None, reason: str = "", by_member: bool = False
) -> Membership:
    """The member resigns, or staff end the membership; the record and its history stay."""
    _lock(membership)
    if membership.status not in ("applied", "active"):
        raise Conflict(_l("This membership has already ended."))
    before = membership.status
    membership.status = "resigned"
    membership.ended_on = local_today()
    _leave_everything(membership)
    action = "resigned" if by_member else "ended"
    add_history(membership, action, before, "resigned", actor_id, reason)
    db.session.flush()
    audit.record(
        f"member.{action}",
        "membership",
        membership.id,
        {"status": before},
        {"status": "resigned", "reason": reason or ""},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    emit("member.ended", member_event(membership))
    _mail(
        membership,
        "membership_ended",
        f"membership-ended:{membership.id}:{len(membership.history)}",
        by_member=by_member,
        reason=reason or "",
    )
    return membership


def reactivate(membership: Membership, actor_id: int | None, reason: str = "") -> Membership:
    """Staff take back a member whose membership ended: active again from today."""
    _lock(membership)
    if membership.anonymised_at is not None:
        raise Conflict(_l("This record is anonymised and cannot be reactivated."))
    if membership.status != "resigned":
        raise Conflict(_l("Only an ended membership can be reactivated."))
    ended_on = membership.ended_on
    membership.status = "active"
    membership.joined_on = local_today()  # the new period; the earlier one stays in the history
    membership.ended_on = None
    membership.decided_at, membership.decided_by_id = utcnow(), actor_id
    add_history(membership, "reactivated", "resigned", "active", actor_id, reason)
    db.session.flush()
    audit.record(
        "member.reactivated",
        "membership",
        membership.id,
        {"status": "resigned", "ended_on": ended_on.isoformat() if ended_on else None},
        {"status": "active", "reason": reason or ""},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    emit("member.updated", member_event(membership, ["status"]))
    _mail(
        membership,
        "membership_welcome",
        f"membership-welcome:{membership.id}:{len(membership.history)}",
    )
    return membership
