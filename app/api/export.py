"""The API's part of a person's data export: the apps they signed in to (refresh tokens, without
the tokens themselves)."""

from __future__ import annotations

from sqlalchemy import select

from app.api.models import RefreshToken
from app.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """Each app sign-in's refresh tokens: when made, used, ending and revoked."""
    rows = db.session.scalars(
        select(RefreshToken).where(RefreshToken.user_id == user.id).order_by(RefreshToken.id)
    )
    return {
        "app_sign_ins": [
            {
                "sign_in": row.family[:8],  # the tokens of one sign-in share it (not a secret)
                "created_at": _iso(row.created_at),
                "used_at": _iso(row.used_at),
                "expires_at": _iso(row.expires_at),
                "revoked_at": _iso(row.revoked_at),
            }
            for row in rows
        ]
    }
