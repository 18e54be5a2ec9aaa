"""Second factors: whether a person has one, and whether they must.

Everything that asks "may this person skip the second step?" asks here (a passkey counts; the
ceremonies themselves, and the webauthn package, are in `app.auth.passkeys`).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.auth.models import User
from app.auth.sign_in_models import Passkey
from app.extensions import db


def has_passkey(user: User) -> bool:
    """True when the user has registered at least one passkey."""
    return (
        db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None
    )


def has_second_factor(user: User) -> bool:
    """True when the user has a confirmed second factor (TOTP) or a passkey."""
    return user.totp_confirmed_at is not None or has_passkey(user)


def second_factor_required(user: User) -> bool:
    """True when the user holds a staff role and REQUIRE_2FA_FOR_STAFF is on."""
    return bool(current_app.config.get("REQUIRE_2FA_FOR_STAFF")) and bool(user.role_names)
