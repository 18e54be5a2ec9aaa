"""Deleting an account that holds no membership (members ask for erasure instead): the person
is forgotten through the members' erasure, which also ends sessions, tokens and second factors."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import User
from app.core import audit
from app.core.errors import DomainError
from app.extensions import db
from app.members.models import Membership
from app.members.privacy import forget_person_data


def deletion_blocker(user: User):
    """Why this account cannot be deleted from its security page, or None."""
    if user.role_names:
        return _l("Staff accounts are closed by an administrator.")
    membership = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.anonymised_at.is_(None)
        )
    )
    if membership is not None:
        return _l("You are a member: ask for the erasure of your data on your membership page.")
    return None


def delete_account(user: User, password: str) -> None:
    """Delete an account without a membership: future registrations are cancelled the normal
    way (the waiting list moves up) and the person is forgotten as in a member's erasure
    (sessions, tokens and second factors included)."""
    blocker = deletion_blocker(user)
    if blocker is not None:
        raise DomainError(blocker)
    if not passwords.verify_password(user.password_hash, password):
        raise DomainError(_l("The password is wrong."), field="password")
    forget_person_data(user, user.id, _l("Deleted account"))
    audit.record("user.deleted", "user", user.id, actor_id=user.id, subject_user_id=user.id)
