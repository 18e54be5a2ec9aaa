"""Second factors: whether a person has one, and whether they must.

The passkeys helper adds its line to `has_second_factor`; everything that asks "may this person
skip the second step?" asks here.
"""

from __future__ import annotations

from flask import current_app

from app.auth.models import User
from app.auth.passkeys import has_passkey


def has_second_factor(user: User) -> bool:
    """True when the user has a confirmed second factor (TOTP) or a passkey."""
    return user.totp_confirmed_at is not None or has_passkey(user)


def second_factor_required(user: User) -> bool:
    """True when the user holds a staff role and REQUIRE_2FA_FOR_STAFF is on."""
    return bool(current_app.config.get("REQUIRE_2FA_FOR_STAFF")) and bool(user.role_names)
