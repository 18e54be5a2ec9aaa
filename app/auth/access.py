"""Ending a person's access: sessions, second factors and API tokens; deleting an account."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.api.models import ApiToken
from app.auth import sessions
from app.auth.models import RecoveryCode, SignInSession, User
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


def forget_sign_in(user: User) -> None:
    """Everything that lets the person sign in or act goes: sessions, tokens, TOTP, codes."""
    end_other_access(user)
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def personal_data(user: User) -> dict:
    """My sign-in sessions and second factor for /account/data.json (no keys, no hashes)."""

    def iso(value):
        return value.isoformat() if value else None

    rows = db.session.scalars(
        select(SignInSession).where(SignInSession.user_id == user.id).order_by(SignInSession.id)
    )
    codes = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id).order_by(RecoveryCode.id)
    )
    return {
        "sign_in_sessions": [
            {
                "kind": row.kind,
                "browser": row.browser,
                "address": row.address,
                "method": row.method,
                "created_at": iso(row.created_at),
                "last_seen_at": iso(row.last_seen_at),
                "expires_at": iso(row.expires_at),
            }
            for row in rows
        ],
        "second_factor": {
            "totp_since": iso(user.totp_confirmed_at),
            "recovery_codes": [
                {"created_at": iso(code.created_at), "used_at": iso(code.used_at)} for code in codes
            ],
        },
    }
