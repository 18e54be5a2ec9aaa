"""Signed single-use links for e-mail verification and password reset."""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.auth.models import User
from app.extensions import db

VERIFY_MAX_AGE = 24 * 3600
RESET_MAX_AGE = 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"felag-{purpose}")


def _state(user: User, purpose: str) -> str:
    """A fingerprint of what the link changes: once used, the fingerprint no longer matches."""
    if purpose == "verify":
        raw = f"{user.email}|{user.email_verified_at is not None}"
    else:
        raw = f"{user.password_hash}|{user.session_version}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def make_token(user: User, purpose: str) -> str:
    """A signed token for one user and one purpose."""
    return _serializer(purpose).dumps({"u": user.id, "s": _state(user, purpose)})


def verify_link_state(token: str) -> str:
    """What an e-mail verification link can still do: 'ok', 'used' (the address is confirmed
    already), 'expired' or 'invalid' (altered or forged)."""
    user, state = load_token(token, "verify")
    if state == "ok":
        return state
    try:
        data = _serializer("verify").loads(token)  # signed by us, whatever its age
    except BadSignature:
        return "invalid"
    ident = data.get("u") if isinstance(data, dict) else None
    owner = db.session.get(User, ident) if isinstance(ident, int) else None
    if owner is not None and owner.email_verified_at is not None:
        return "used"
    return state


def load_token(token: str, purpose: str) -> tuple[User | None, str]:
    """The user a token is for, and 'ok', 'expired' or 'invalid' (including already used)."""
    max_age = VERIFY_MAX_AGE if purpose == "verify" else RESET_MAX_AGE
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"
    if not isinstance(data, dict):
        return None, "invalid"
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or data.get("s") != _state(user, purpose):
        return None, "invalid"
    return user, "ok"
