"""Privacy: revealing the national ID (audited), erasure requests and anonymisation."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.access import forget_sign_in
from app.auth.models import User
from app.auth.sign_in_export import forget_sign_in_methods
from app.core import audit
from app.core.audit import AuditEntry
from app.core.errors import Conflict, Forbidden
from app.core.mail import OutboxMessage
from app.core.storage import get_storage
from app.core.timeutil import local_today, utcnow
from app.events.models import Event, Registration
from app.events.registrations import ACTIVE_STATES, cancel_registration
from app.extensions import db
from app.forms.export import forget_respondent
from app.inbox.export import forget_person
from app.members import groups, national_id
from app.members.models import Consent, ConsentEvent, Membership
from app.members.records import RECORD_FIELDS, add_history
from app.polls.export import forget_voter

REDACTED = "[removed]"


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


def _cancel_future_registrations(user_id: int, actor_id: int) -> None:
    """Cancel the person's places at events not yet begun, through the registrations' own path."""
    ids = db.session.scalars(
        select(Registration.id)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.user_id == user_id,
            Registration.state.in_(ACTIVE_STATES),
            Registration.checked_in_at.is_(None),
            Event.starts_at > utcnow(),
        )
        .order_by(Registration.id)
    ).all()
    actor = db.session.get(User, actor_id)
    for registration_id in ids:
        cancel_registration(registration_id, actor=actor)


def forget_person_data(user: User, actor_id: int, label) -> None:
    """Erase a person's account data everywhere (the membership record aside): future places are
    cancelled the normal way, other domains forget the person, the account is closed under
    `label` (English) and an address that can receive nothing."""
    _cancel_future_registrations(user.id, actor_id)
    forget_sign_in(user)  # sessions, API tokens, second factor
    forget_respondent(user.id)  # forms: named answers go; anonymous ones stay, unlinked
    forget_voter(user.id)  # polls: participations and open ballots stay counted, unlinked
    forget_person(user.id, user.email)  # inbox: conversations, their messages and notes
    forget_sign_in_methods(user.id)  # passkeys and linked sign-in providers
    db.session.execute(db.delete(ConsentEvent).where(ConsentEvent.user_id == user.id))
    db.session.execute(db.delete(Consent).where(Consent.user_id == user.id))
    db.session.execute(
        db.update(Registration)
        .where(Registration.user_id == user.id)
        .values(name="", email="")
        .execution_options(synchronize_session=False)
    )
    anonymous_address = f"anonymised-{user.id}@invalid.invalid"
    # Unsent mail is cancelled (the send job skips it), and no row keeps the address or text.
    db.session.execute(
        db.update(OutboxMessage)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.state.in_(("queued", "failed")))
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
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
        user.name = str(label)
    user.email = anonymous_address
    user.password_hash = "!anonymised"
    user.avatar_key = user.avatar_thumb_key = None
    user.is_active_account = False
    user.session_version += 1
    user.roles.clear()
    db.session.flush()


def anonymise(membership: Membership, actor_id: int) -> Membership:
    """Remove the person's data and keep what statistics need.

    Kept: status, joined and ended dates, birth year, municipality, region and country, and the
    rows of other domains (registrations, e-mails, audit entries) with the person's data removed.
    Registrations for events still to come are cancelled the normal way (a seat passes to the
    first person waiting), and e-mails not yet sent are cancelled.
    """
    if membership.anonymised_at is not None:
        raise Conflict(_l("This record is already anonymised."))
    user = membership.user
    if user.id == actor_id:
        raise Forbidden(_l("You cannot anonymise your own record."))
    before_status = membership.status
    if membership.status in ("applied", "active"):
        membership.status = "resigned"
        membership.ended_on = local_today()
        add_history(membership, "anonymised", before_status, "resigned", actor_id)
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

    forget_person_data(user, actor_id, _l("Anonymised member"))
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
