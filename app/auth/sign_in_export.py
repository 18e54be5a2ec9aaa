"""Passkeys and single sign-on in the personal data export, and their erasure."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.auth.models import User
from app.auth.sign_in_models import Passkey, PasskeyChallenge, SignInIdentity
from app.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user: User) -> dict:
    """My passkeys (names and dates, no key material) and my linked sign-in providers."""
    passkeys = db.session.scalars(select(Passkey).where(Passkey.user_id == user.id))
    identities = db.session.scalars(select(SignInIdentity).where(SignInIdentity.user_id == user.id))
    return {
        "passkeys": [
            {
                "name": p.name,
                "created_at": _iso(p.created_at),
                "last_used_at": _iso(p.last_used_at),
            }
            for p in passkeys
        ],
        "sign_in_providers": [
            {
                "provider": i.provider,
                "subject": i.subject,
                "email": i.email,
                "created_at": _iso(i.created_at),
                "last_used_at": _iso(i.last_used_at),
            }
            for i in identities
        ],
    }


def forget_sign_in_methods(user_id: int) -> None:
    """Erasure: the person's passkeys, open challenges and linked provider accounts go."""
    for model in (Passkey, PasskeyChallenge, SignInIdentity):
        db.session.execute(
            delete(model)
            .where(model.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
