"""Consents (reachable, groupable, newsletter): the current state and its history."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.auth.models import User
from app.core.errors import DomainError, NotFound
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.extensions import db
from app.members.models import CONSENT_KINDS, Consent, ConsentEvent, Membership

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


def consents_of(user) -> dict[str, bool]:
    """The current state of each consent (False when never given)."""
    state = dict.fromkeys(CONSENT_KINDS, False)
    if user is None or user.id is None:
        return state
    for consent in db.session.scalars(select(Consent).where(Consent.user_id == user.id)):
        state[consent.kind] = consent.given
    return state


def consents_of_many(user_ids: list[int]) -> dict[int, dict[str, bool]]:
    """The consents of many people in one query (a page of the member API)."""
    states = {user_id: dict.fromkeys(CONSENT_KINDS, False) for user_id in user_ids}
    if not user_ids:
        return states
    rows = db.session.execute(
        select(Consent.user_id, Consent.kind, Consent.given).where(Consent.user_id.in_(user_ids))
    )
    for user_id, kind, given in rows:
        states[user_id][kind] = given
    return states


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
        if row is None and not add_once(
            Consent(user_id=user.id, kind=kind, given=given, changed_at=now)
        ):
            # The same first consent sent twice at once: the other request has written the row
            # (add_once waited for it); go on from what it saved.
            row = db.session.scalar(
                select(Consent)
                .where(Consent.user_id == user.id, Consent.kind == kind)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        if row is not None:
            if row.given == given:
                continue
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
        # The member-sync API shows consents: a change counts as a change of the record.
        db.session.execute(
            update(Membership)
            .where(Membership.user_id == user.id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
    return changed


def unsubscribe(user_id: int) -> User:
    """Withdraw the newsletter consent from a signed unsubscribe link."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("This unsubscribe link is not valid."))
    set_consents(user, {"newsletter": False}, actor_id=user.id, source="unsubscribe")
    return user
