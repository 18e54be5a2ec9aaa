"""Ending a person's access: sessions and API tokens (after a password change or reset)."""

from __future__ import annotations

from sqlalchemy import select

from app.api.models import ApiToken
from app.auth import sessions
from app.auth.models import SignInSession, User
from app.core.timeutil import utcnow
from app.extensions import db


def end_other_access(user: User, keep: SignInSession | None = None) -> None:
    """End every session of the user but `keep`, and revoke the user's API tokens."""
    sessions.end_all(user.id, keep=keep)
    now = utcnow()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        # Changed on the object, so the flush announces it to every worker's token cache.
        token.revoked_at = now
    db.session.flush()
