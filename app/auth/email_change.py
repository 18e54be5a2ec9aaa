"""Changing my e-mail address: a signed, single-use link to the new address; the old one is told."""

from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.auth import passwords
from app.auth.models import User
from app.auth.services import normalise_email
from app.core import audit
from app.core.errors import DomainError
from app.core.http import absolute_url
from app.core.mail import queue_mail
from app.core.unique import is_unique_violation
from app.extensions import db

MAX_AGE = 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="felag-email-change")


def _state(user: User) -> str:
    """The current address's fingerprint: once the change is made, the link no longer fits."""
    return hashlib.sha256(f"{user.email}|{user.session_version}".encode()).hexdigest()[:20]


def request_change(user: User, new_email: str, password: str) -> str:
    """Check the password and send a confirmation link to the new address; returns it."""
    if not passwords.verify_password(user.password_hash, password):
        raise DomainError(_l("The password is wrong."), field="password")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise DomainError(_l("That is your address already."), field="email")
    token = _serializer().dumps({"u": user.id, "e": new_email, "s": _state(user)})
    # Whether another account uses the address is not said here (that would tell who has an
    # account); the link's click finds out and says so.
    queue_mail(
        new_email,
        "email_change",
        user.locale,
        {"name": user.name, "link": absolute_url("account.confirm_email", token=token)},
        user_id=user.id,
    )
    audit.record("user.email_change_requested", "user", user.id, subject_user_id=user.id)
    return new_email


def _load(token: str) -> tuple[User, str]:
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except SignatureExpired:
        raise DomainError(_l("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        data = None
    user = None
    if isinstance(data, dict) and isinstance(data.get("u"), int):
        user = db.session.get(User, data["u"])
    if user is None or not user.is_active or data.get("s") != _state(user):
        raise DomainError(_l("This link is not valid or has already been used."))
    return user, str(data.get("e", ""))


def check_link(token: str) -> str:
    """The new address a link would set (DomainError when it cannot be used)."""
    return _load(token)[1]


def confirm_change(token: str) -> User:
    """Make the change; the old address is told. Two accounts confirming one address at once:
    the unique index lets one win, the other gets a clear error."""
    user, new_email = _load(token)
    old_email = user.email
    try:
        with db.session.begin_nested():
            user.email = new_email
            db.session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        db.session.refresh(user)
        raise DomainError(
            _l("Another account uses this address now. Choose another one."), field="email"
        ) from None
    user.session_version += 1  # reset links sent to the old address die with it
    queue_mail(
        old_email,
        "email_changed",
        user.locale,
        {"name": user.name, "new_email": new_email},
        user_id=user.id,
    )
    audit.record(
        "user.email_changed",
        "user",
        user.id,
        actor_id=user.id,
        subject_user_id=user.id,
    )
    return user
