"""The ways a person can sign in (password, passkeys, providers), and whether one may go."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.sign_in_models import Passkey, SignInIdentity
from app.extensions import db

# The password hash of an account made by single sign-on: no password matches it.
NO_PASSWORD = ""


def has_password(user: User) -> bool:
    """True when the account has a password (accounts made by single sign-on start without)."""
    return bool(user.password_hash) and user.password_hash != NO_PASSWORD


def other_sign_in_methods(
    user: User, *, passkey: Passkey | None = None, identity: SignInIdentity | None = None
) -> bool:
    """True when the user can still sign in without this passkey or this provider.

    The user's row is locked first: two removals at once (the last passkey and the last
    provider) wait for each other, so they cannot both see the other as still there.
    """
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    if has_password(user):
        return True
    passkeys = db.session.scalar(
        select(func.count(Passkey.id)).where(
            Passkey.user_id == user.id, Passkey.id != (passkey.id if passkey else -1)
        )
    )
    if passkeys:
        return True
    identities = db.session.scalar(
        select(func.count(SignInIdentity.id)).where(
            SignInIdentity.user_id == user.id,
            SignInIdentity.id != (identity.id if identity else -1),
        )
    )
    return bool(identities)
