"""Membership services: applying, deciding, the member record, consents, titles, notes, privacy.

Services validate, change the session, flush and raise DomainError; routes commit once.
The national ID is only ever handled through app.members.national_id; it is never logged and
never written to the audit log in clear.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core import audit
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.core.mail import queue_mail
from app.core.timeutil import utcnow
from app.extensions import db
from app.members import national_id
from app.members.models import (
    CONSENT_KINDS,
    MEMBERSHIP_STATUSES,
    TITLE_KINDS,
    Consent,
    ConsentEvent,
    Group,
    Membership,
    MembershipEvent,
    StaffNote,
    Title,
    UnionMembership,
)

# Fields a member may change in their own record; staff may change these and STAFF_FIELDS.
RECORD_FIELDS = (
    "full_name",
    "birthday",
    "gender",
    "phone",
    "secondary_email",
    "street",
    "house_number",
    "apartment",
    "postal_code",
    "city",
    "municipality",
    "region",
    "country",
    "job_title",
    "housing",
)
STAFF_FIELDS = (*RECORD_FIELDS, "joined_on", "status", "is_test", "national_id_country")
TEXT_LIMITS = {
    "full_name": 200,
    "gender": 40,
    "phone": 40,
    "secondary_email": 320,
    "street": 200,
    "house_number": 20,
    "apartment": 40,
    "postal_code": 20,
    "city": 100,
    "municipality": 100,
    "region": 100,
    "job_title": 200,
    "housing": 100,
}
CONSENT_TEXTS = {
    "reachable": _l("The association may contact me by e-mail, phone or post about its work."),
    "groupable": _l("I may be placed in groups, and other members of a group may see my name."),
    "newsletter": _l("Send me the newsletter."),
}
CONSENT_LABELS = {
    "reachable": _l("May be contacted"),
    "groupable": _l("May be placed in groups"),
    "newsletter": _l("Newsletter"),
}
STATUS_LABELS = {
    "applied": _l("Applied"),
    "active": _l("Active"),
    "rejected": _l("Rejected"),
    "resigned": _l("Resigned"),
}
TITLE_LABELS = {
    "chair": _l("Chair"),
    "vice_chair": _l("Vice-chair"),
    "treasurer": _l("Treasurer"),
    "secretary": _l("Secretary"),
    "board_member": _l("Board member"),
    "substitute": _l("Substitute"),
    "custom": _l("Other title"),
}
REDACTED = "[removed]"


class AlreadyMember(Conflict):
    code = "already_member"


# -- reading ------------------------------------------------------------------------------------


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


def get_membership(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound(_l("No such member."))
    return membership


def find_by_national_id(value: str) -> Membership | None:
    """Exact lookup through the keyed hash; the number itself is never compared in clear."""
    if not national_id.normalise(value):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.national_id_hash == national_id.lookup(value))
    )


def consents_of(user) -> dict[str, bool]:
    """The current state of each consent (False when never given)."""
    state = dict.fromkeys(CONSENT_KINDS, False)
    if user is None or user.id is None:
        return state
    for consent in db.session.scalars(select(Consent).where(Consent.user_id == user.id)):
        state[consent.kind] = consent.given
    return state


def has_consent(user, kind: str) -> bool:
    return consents_of(user)[kind]


def consent_history(user) -> list[ConsentEvent]:
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.user_id == user.id)
            .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
        )
    )


def current_titles(membership: Membership, on: date | None = None) -> list[Title]:
    on = on or date.today()
    return [
        t for t in membership.titles if t.starts_on <= on and (t.ends_on is None or t.ends_on >= on)
    ]


def title_label(title: Title) -> str:
    if title.kind == "custom" and title.custom_title:
        return title.custom_title
    return str(TITLE_LABELS[title.kind])


def current_board(on: date | None = None) -> list[Title]:
    """The titles held today outside any group (the board), in the order of the positions."""
    on = on or date.today()
    titles = db.session.scalars(
        select(Title)
        .join(Membership)
        .where(
            Title.group_id.is_(None),
            Title.starts_on <= on,
            (Title.ends_on.is_(None)) | (Title.ends_on >= on),
            Membership.status == "active",
            Membership.is_test.is_(False),
        )
    ).all()
    order = {kind: i for i, kind in enumerate(TITLE_KINDS)}
    return sorted(titles, key=lambda t: (order[t.kind], t.membership.full_name))


def can_see_national_id(user) -> bool:
    """Membership staff (and admins) see the national ID in full; everyone else sees it masked."""
    from app.core.security import has_role

    return has_role(user, "membership")


# -- validation ---------------------------------------------------------------------------------


def _text(field: str, value: Any) -> str:
    value = ("" if value is None else str(value)).strip()
    limit = TEXT_LIMITS.get(field)
    if limit and len(value) > limit:
        raise DomainError(_l("Use at most %(n)d characters.", n=limit), field=field)
    return value


def _date(field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    try:
        if match:
            day, month, year = (int(x) for x in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(
            _l("This is not a valid date. Write it as YYYY-MM-DD or DD.MM.YYYY."), field=field
        ) from None


def clean_country(value: Any, field: str = "country") -> str:
    value = _text(field, value).upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise DomainError(_l("Choose a country."), field=field)
    return value


def clean_value(field: str, value: Any) -> Any:
    """One field of a member record, validated and normalised."""
    if field in ("birthday", "joined_on"):
        parsed = _date(field, value)
        if parsed and parsed > date.today():
            if field == "birthday":
                raise DomainError(_l("The birthday cannot be in the future."), field=field)
            raise DomainError(_l("The joining date cannot be in the future."), field=field)
        if parsed and parsed.year < 1900:
            raise DomainError(_l("This date is too far in the past."), field=field)
        return parsed
    if field in ("country", "national_id_country"):
        return clean_country(value, field)
    if field == "is_test":
        return value in (True, "1", "true", "yes", "on", 1)
    if field == "status":
        if value not in MEMBERSHIP_STATUSES:
            raise DomainError(_l("Unknown status."), field=field)
        return value
    text = _text(field, value)
    if field == "full_name" and not text:
        raise DomainError(_l("Enter the full name."), field=field)
    if field == "secondary_email" and text:
        try:
            text = validate_email(text, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise DomainError(_l("This is not a valid e-mail address."), field=field) from None
    if field == "phone" and text and not re.fullmatch(r"\+?[\d\s\-()./]{3,40}", text):
        raise DomainError(
            _l("A phone number may contain digits, spaces, +, - and brackets."), field=field
        )
    return text


def default_country() -> str:
    return current_app.config.get("MEMBERSHIP_DEFAULT_COUNTRY", "IS")


def _set_national_id(membership: Membership, country: str, value: str | None) -> None:
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


def _flush_unique() -> None:
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


def _event(
    membership: Membership, action: str, from_status, to_status, actor_id, reason=""
) -> None:
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


def _mail(membership: Membership, template: str, key: str, **context) -> None:
    user = membership.user
    with force_locale(user.locale):
        me_link = current_app.config["BASE_URL"] + url_for("members.me")
    queue_mail(
        user.email,
        template,
        user.locale,
        {"name": membership.full_name or user.name, "link": me_link, **context},
        key=key,
        user_id=user.id,
    )


# -- consents -----------------------------------------------------------------------------------


def set_consents(
    user: User, wanted: dict[str, bool], actor_id: int | None, source: str = "form"
) -> list[str]:
    """Record each consent that changes (or is stated the first time); returns the kinds changed."""
    changed = []
    current = {
        c.kind: c for c in db.session.scalars(select(Consent).where(Consent.user_id == user.id))
    }
    now = utcnow()
    for kind, given in wanted.items():
        if kind not in CONSENT_KINDS:
            raise DomainError(_l("Unknown consent."), field=kind)
        given = bool(given)
        row = current.get(kind)
        if row is not None and row.given == given:
            continue
        if row is None:
            row = Consent(user_id=user.id, kind=kind)
            db.session.add(row)
        row.given, row.changed_at = given, now
        with force_locale(user.locale):
            text = str(CONSENT_TEXTS[kind])
        db.session.add(
            ConsentEvent(
                user_id=user.id,
                kind=kind,
                given=given,
                at=now,
                by_id=actor_id,
                source=source,
                text=text,
            )
        )
        changed.append(kind)
    if changed:
        db.session.flush()
    return changed


def unsubscribe(user_id: int) -> User:
    """Withdraw the newsletter consent from a signed unsubscribe link."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("This unsubscribe link is not valid."))
    set_consents(user, {"newsletter": False}, actor_id=user.id, source="unsubscribe")
    return user


# -- applying and deciding ----------------------------------------------------------------------


def apply(user: User, values: dict[str, Any], consents: dict[str, bool]) -> Membership:
    """A verified user applies; the record waits as applied (or is approved at once when set so)."""
    if not user.is_verified:
        raise Forbidden(_l("Confirm your e-mail address before you apply."))
    membership = membership_of(user)
    if membership is not None and membership.status in ("applied", "active"):
        if membership.status == "active":
            raise AlreadyMember(_l("You are a member already."))
        raise AlreadyMember(_l("Your application is already waiting for a decision."))
    previous = membership.status if membership else None
    if membership is None:
        membership = Membership(user_id=user.id, user=user)
        db.session.add(membership)
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
    _set_national_id(membership, country, values.get("national_id"))
    membership.birth_year = membership.birthday.year if membership.birthday else None
    membership.status = "applied"
    membership.applied_at = utcnow()
    membership.decided_at = membership.decided_by_id = None
    membership.decision_reason = ""
    membership.ended_on = None
    _flush_unique()
    _event(membership, "applied", previous, "applied", user.id)
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


def approve(membership: Membership, actor_id: int | None, automatic: bool = False) -> Membership:
    """Accept an application: the member is active from today and gets a welcome e-mail."""
    if membership.status != "applied":
        raise Conflict(_l("Only a waiting application can be approved."))
    membership.status = "active"
    membership.joined_on = membership.joined_on or date.today()
    membership.decided_at, membership.decided_by_id = utcnow(), actor_id
    reason = "automatic" if automatic else ""
    _event(membership, "approved", "applied", "active", actor_id, reason)
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
    if membership.status != "applied":
        raise Conflict(_l("Only a waiting application can be rejected."))
    membership.status = "rejected"
    membership.decided_at, membership.decided_by_id = utcnow(), actor_id
    membership.decision_reason = reason
    _event(membership, "rejected", "applied", "rejected", actor_id, reason)
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
    from app.members import groups

    for link in list(membership.group_links):
        groups.remove_link(link)
    today = date.today()
    for title in current_titles(membership, today):
        title.ends_on = max(today, title.starts_on)


def end_membership(
    membership: Membership, actor_id: int | None, reason: str = "", by_member: bool = False
) -> Membership:
    """The member resigns, or staff end the membership; the record and its history stay."""
    if membership.status not in ("applied", "active"):
        raise Conflict(_l("This membership has already ended."))
    before = membership.status
    membership.status = "resigned"
    membership.ended_on = date.today()
    _leave_everything(membership)
    action = "resigned" if by_member else "ended"
    _event(membership, action, before, "resigned", actor_id, reason)
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
    _mail(
        membership,
        "membership_ended",
        f"membership-ended:{membership.id}:{len(membership.history)}",
        by_member=by_member,
        reason=reason or "",
    )
    return membership


# -- the record ---------------------------------------------------------------------------------


def update_record(
    membership: Membership,
    values: dict[str, Any],
    actor_id: int | None,
    allowed: tuple[str, ...] = RECORD_FIELDS,
    unions: list[tuple[str, str]] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Change the given fields; every change is audit-logged field by field (before and after).

    A "national_id" key changes the number (staff only, through allowed); it is audited masked.
    """
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
        _set_national_id(membership, membership.national_id_country, new_value)
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
    if "status" in changed_after:
        _event(membership, "edited", before["status"], membership.status, actor_id)
        if membership.status == "active" and not membership.joined_on:
            membership.joined_on = date.today()
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
    _flush_unique()
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
    return {f: (changed_before[f], changed_after[f]) for f in changed_after}


def reveal_national_id(membership: Membership, actor_id: int, via: str = "staff") -> str:
    """The national ID in full, for membership staff; each reveal is audit-logged."""
    if not membership.national_id_encrypted:
        return ""
    value = national_id.decrypt(membership.national_id_encrypted)
    audit.record(
        "member.national_id_revealed",
        "membership",
        membership.id,
        after={"via": via},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    return national_id.display(membership.national_id_country, value)


def add_note(membership: Membership, text: str, tags: str | list[str], actor_id: int) -> StaffNote:
    """A staff note with tags (comma-separated or a list)."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("Write the note."), field="text")
    if isinstance(tags, str):
        tags = tags.split(",")
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


# -- titles -------------------------------------------------------------------------------------


def add_title(
    membership: Membership,
    kind: str,
    starts_on: Any,
    ends_on: Any = None,
    custom_title: str = "",
    group: Group | None = None,
    actor_id: int | None = None,
) -> Title:
    """Give a member a title from a date (to a date, or open), optionally within a group."""
    if kind not in TITLE_KINDS:
        raise DomainError(_l("Choose a title."), field="kind")
    custom_title = _text("custom_title", custom_title)[:100]
    if kind == "custom" and not custom_title:
        raise DomainError(_l("Write the title."), field="custom_title")
    starts = _date("starts_on", starts_on)
    if starts is None:
        raise DomainError(_l("Give the date the title starts."), field="starts_on")
    ends = _date("ends_on", ends_on)
    if ends is not None and ends < starts:
        raise DomainError(_l("The end cannot be before the start."), field="ends_on")
    if membership.status != "active":
        raise Conflict(_l("Only an active member can hold a title."))
    title = Title(
        membership=membership,
        kind=kind,
        custom_title=custom_title if kind == "custom" else "",
        group=group,
        starts_on=starts,
        ends_on=ends,
    )
    db.session.add(title)
    db.session.flush()
    audit.record(
        "member.title_added",
        "membership",
        membership.id,
        after={
            "title_id": title.id,
            "kind": kind,
            "custom_title": title.custom_title,
            "group_id": group.id if group else None,
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat() if ends else None,
        },
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    return title


def end_title(title: Title, ends_on: Any, actor_id: int | None) -> Title:
    ends = _date("ends_on", ends_on) or date.today()
    if ends < title.starts_on:
        raise DomainError(_l("The end cannot be before the start."), field="ends_on")
    before = title.ends_on.isoformat() if title.ends_on else None
    title.ends_on = ends
    db.session.flush()
    audit.record(
        "member.title_ended",
        "membership",
        title.membership_id,
        {"title_id": title.id, "ends_on": before},
        {"title_id": title.id, "ends_on": ends.isoformat()},
        actor_id=actor_id,
        subject_user_id=title.membership.user_id,
    )
    return title


# -- privacy ------------------------------------------------------------------------------------


def request_erasure(membership: Membership, actor_id: int) -> Membership:
    """The member asks to be erased; membership staff then anonymise the record."""
    if membership.anonymised_at is not None:
        raise Conflict(_l("This record is already anonymised."))
    if membership.erasure_requested_at is None:
        membership.erasure_requested_at = utcnow()
        audit.record(
            "member.erasure_requested",
            "membership",
            membership.id,
            actor_id=actor_id,
            subject_user_id=membership.user_id,
        )
        db.session.flush()
    return membership


def _redact(values: dict | None) -> dict | None:
    if not values:
        return values
    return {key: REDACTED for key in values}


def anonymise(membership: Membership, actor_id: int) -> Membership:
    """Remove the person's data and keep what statistics need.

    Kept: status, joined and ended dates, birth year, municipality, region and country, and the
    rows of other domains (registrations, e-mails, audit entries) with the person's data removed.
    """
    from app.core.audit import AuditEntry
    from app.core.mail import OutboxMessage
    from app.core.storage import get_storage
    from app.events.models import Registration
    from app.members import groups

    if membership.anonymised_at is not None:
        raise Conflict(_l("This record is already anonymised."))
    user = membership.user
    if user.id == actor_id:
        raise Forbidden(_l("You cannot anonymise your own record."))
    before_status = membership.status
    if membership.status in ("applied", "active"):
        membership.status = "resigned"
        membership.ended_on = date.today()
        _event(membership, "anonymised", before_status, "resigned", actor_id)
    for link in list(membership.group_links):
        groups.remove_link(link)
    membership.titles.clear()
    membership.unions.clear()
    membership.notes.clear()
    for event in membership.history:
        event.reason = ""
    for field in RECORD_FIELDS:
        if field in ("municipality", "region", "country"):
            continue
        setattr(membership, field, None if field == "birthday" else "")
    membership.phone_digits = ""
    membership.decision_reason = ""
    membership.national_id_encrypted = membership.national_id_hash = None
    membership.national_id_masked = ""
    membership.anonymised_at = utcnow()

    db.session.execute(db.delete(ConsentEvent).where(ConsentEvent.user_id == user.id))
    db.session.execute(db.delete(Consent).where(Consent.user_id == user.id))
    db.session.execute(
        db.update(Registration)
        .where(Registration.user_id == user.id)
        .values(name="", email="")
        .execution_options(synchronize_session=False)
    )
    anonymous_address = f"anonymised-{user.id}@invalid.invalid"
    db.session.execute(
        db.update(OutboxMessage)
        .where(OutboxMessage.user_id == user.id)
        .values(to_address=anonymous_address, context={}, subject=None)
        .execution_options(synchronize_session=False)
    )
    for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.subject_user_id == user.id)
    ):
        entry.before, entry.after = _redact(entry.before), _redact(entry.after)

    storage = get_storage()
    for key in (user.avatar_key, user.avatar_thumb_key):
        if key:
            try:
                storage.delete("public", key)
            except Exception:  # the row is anonymised even when the file is already gone
                current_app.logger.warning("Could not delete an avatar of an anonymised user")
    with force_locale("en"):
        user.name = str(_l("Anonymised member"))
    user.email = anonymous_address
    user.password_hash = "!anonymised"
    user.avatar_key = user.avatar_thumb_key = None
    user.is_active_account = False
    user.session_version += 1
    user.roles.clear()
    db.session.flush()
    audit.record(
        "member.anonymised",
        "membership",
        membership.id,
        {"status": before_status},
        {"status": membership.status},
        actor_id=actor_id,
        subject_user_id=user.id,
    )
    db.session.flush()
    return membership
