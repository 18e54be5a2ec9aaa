"""App tokens: short-lived JWT access tokens and rotating, single-use refresh tokens.

An app signs in with e-mail and password (and a second-factor code when the account has one)
and gets an access token (a JWT, APP_ACCESS_TOKEN_SECONDS) and an opaque refresh token (stored
hashed). A refresh uses the refresh token up and hands out a new pair of the same family; a
refresh token used a second time means it was copied, so its whole family is revoked (OAuth 2.0
Security Best Current Practice, refresh token rotation). The access token names its family and
stops working as soon as the family is revoked (that reuse, or the app's sign-out). It also
carries the user's session_version: a password change ends every access token and refresh
family at once.

Keys: JWT_SIGNING_KEYS ("kid:secret,kid2:secret2"; the first signs, all verify); without it one
key is derived from SECRET_KEY under a label of its own. Verification pins HS256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, select, update

from app.api.models import RefreshToken, hash_key
from app.api.services import ApiCaller
from app.auth import factors, totp
from app.auth.models import User, UserRole
from app.core import audit
from app.core.crypto import derived_key
from app.core.errors import DomainError
from app.core.timeutil import utcnow
from app.extensions import db

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "sv"]
REFRESH_PREFIX = "flr_"


class AppTokenRefused(DomainError):
    """A refresh token that is unknown, used, expired or revoked."""

    status = 401
    code = "invalid_token"


class RefreshTokenReused(AppTokenRefused):
    """A used refresh token came back: its family is revoked (the caller commits that)."""


class SecondFactorRequired(DomainError):
    status = 401
    code = "second_factor_required"


class SecondFactorSetupNeeded(DomainError):
    status = 403
    code = "second_factor_required"


class SecondFactorWrong(DomainError):
    status = 401
    code = "invalid_credentials"


# --- keys --------------------------------------------------------------------------------------


def signing_keys() -> tuple[tuple[str, bytes], ...]:
    """(kid, secret) pairs; the first signs."""
    return _keys(current_app.config.get("JWT_SIGNING_KEYS") or "", current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _keys(configured: str, secret_key: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for part in configured.split(","):
        if not part.strip():
            continue
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or not secret:
            raise ValueError("JWT_SIGNING_KEYS must look like 'kid:secret,kid2:secret2'")
        keys.append((kid, secret.encode()))
    if not keys:
        derived = derived_key(secret_key, b"jwt-access-tokens")
        keys.append(("d-" + hashlib.sha256(derived).hexdigest()[:8], derived))
    return tuple(keys)


# --- issuing -----------------------------------------------------------------------------------


def _access_token(
    user_id: int, roles: set[str] | frozenset[str], session_version: int, family: str
) -> str:
    import jwt  # PyJWT (with cryptography's x509) only where tokens are made or read: issue 13

    now = int(utcnow().timestamp())
    kid, secret = signing_keys()[0]
    claims = {
        "sub": str(user_id),
        "roles": sorted(roles),
        "sv": session_version,
        "fam": family,  # its sign-in: a revoked family ends its access tokens at once
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + access_seconds(),
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})


def access_seconds() -> int:
    return int(current_app.config.get("APP_ACCESS_TOKEN_SECONDS", 900))


def _new_refresh_token(user_id: int, family: str, session_version: int) -> str:
    key = REFRESH_PREFIX + secrets.token_urlsafe(32)
    days = current_app.config.get("APP_REFRESH_TOKEN_DAYS", 30)
    db.session.add(
        RefreshToken(
            user_id=user_id,
            family=family,
            token_hash=hash_key(key),
            session_version=session_version,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    return key


def _pair(user_id: int, roles, session_version: int, family: str) -> dict:
    refresh = _new_refresh_token(user_id, family, session_version)
    db.session.flush()
    return {
        "access_token": _access_token(user_id, roles, session_version, family),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": access_seconds(),
    }


def issue(user: User) -> dict:
    """A new token pair (a new family) for a user who has just proved who they are."""
    family = secrets.token_hex(16)
    tokens = _pair(user.id, user.role_names, user.session_version, family)
    audit.record("app_token.issued", "user", user.id, actor_id=user.id, subject_user_id=user.id)
    return tokens


def check_second_factor(user: User, code: str | None) -> None:
    """Require and check a second-factor code (TOTP or a recovery code) when the account has a
    second factor; an account with only a passkey cannot sign in an app this way."""
    if not factors.has_second_factor(user):
        if factors.second_factor_required(user):  # staff under REQUIRE_2FA_FOR_STAFF
            raise SecondFactorSetupNeeded(
                _l("Your staff role needs a second factor. Set one up to go on.")
            )
        return
    if not code:
        raise SecondFactorRequired(_l("Enter the code from your authenticator app."), field="code")
    try:
        totp.verify_code(user, code)
    except DomainError:
        raise SecondFactorWrong(_l("That code is not right, or it was used already.")) from None


# --- rotating ----------------------------------------------------------------------------------


def _revoke_family(family: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def usable(now) -> tuple:
    """When a refresh token may be used. `used_at IS NULL` is the race guard: under READ
    COMMITTED a second UPDATE of the row waits for the first's commit and then finds it false.
    (The concurrency test replaces this to show that.)"""
    return (
        RefreshToken.used_at.is_(None),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )


def refresh(key: str) -> dict:
    """Use a refresh token up and hand out a new pair of its family.

    The conditional UPDATE takes the token once: of two refreshes with the same token at the
    same moment, the second waits for the first's commit, finds the token used, and is treated
    as a reuse (RefreshTokenReused; the family is revoked, the caller commits that).
    """
    now = utcnow()
    token_hash = hash_key(key) if isinstance(key, str) and key else ""
    row = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, *usable(now))
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family, RefreshToken.session_version)
        .execution_options(synchronize_session=False)
    ).first()
    refused = _l("The refresh token is not valid. Sign in again.")
    if row is None:
        dead = db.session.execute(
            select(RefreshToken.family, RefreshToken.user_id, RefreshToken.used_at).where(
                RefreshToken.token_hash == token_hash
            )
        ).first()
        if dead is not None and dead.used_at is not None:
            _revoke_family(dead.family)
            audit.record(
                "app_token.reused",
                "user",
                dead.user_id,
                actor_id=dead.user_id,
                subject_user_id=dead.user_id,
            )
            raise RefreshTokenReused(refused)
        raise AppTokenRefused(refused)
    # The user, roles and session_version in one round trip (this path is the hot one).
    rows = db.session.execute(_USER_WITH_ROLES, {"user_id": row.user_id}).all()
    if not rows or not rows[0].is_active_account or rows[0].session_version != row.session_version:
        _revoke_family(row.family)  # the password changed or the account closed
        raise RefreshTokenReused(refused)
    roles = {r.role for r in rows if r.role is not None}
    return _pair(row.user_id, roles, row.session_version, row.family)


def revoke(key: str) -> bool:
    """End the sign-in a refresh token belongs to (its whole family); False when unknown."""
    token_hash = hash_key(key) if isinstance(key, str) and key else ""
    family = db.session.scalar(
        select(RefreshToken.family).where(RefreshToken.token_hash == token_hash)
    )
    if family is None:
        return False
    _revoke_family(family)
    return True


# --- verifying ---------------------------------------------------------------------------------


def looks_like_jwt(key: str) -> bool:
    """An access token (three base64url parts) rather than a staff token (flg_...)."""
    return key.startswith("eyJ") and key.count(".") == 2


_users, _roles = User.__table__, UserRole.__table__
_USER_WITH_ROLES = (
    select(
        _users.c.id,
        _users.c.name,
        _users.c.email,
        _users.c.session_version,
        _users.c.is_active_account,
        _roles.c.role,
    )
    .select_from(_users.outerjoin(_roles, _roles.c.user_id == _users.c.id))
    .where(_users.c.id == bindparam("user_id"))
)


# For an access token: the same, and whether its sign-in (refresh family) was revoked since.
# Tokens made before they carried their family ("fam") bind "" and expire as before.
_refresh = RefreshToken.__table__
_CALLER = _USER_WITH_ROLES.add_columns(
    exists()
    .where(_refresh.c.family == bindparam("family"), _refresh.c.revoked_at.is_not(None))
    .label("revoked")
)


def access_token_claims(token: str) -> dict | None:
    """The claims of a genuine, unexpired access token signed with a known key; else None."""
    import jwt

    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    key = dict(signing_keys()).get(kid) if isinstance(kid, str) else None
    if key is None:
        return None
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
        return None
    return claims


def access_token_caller(token: str) -> ApiCaller | None:
    """Who a valid access token acts for, with the roles the user holds now; None when the
    token is bad, expired, or older than the user's last password change."""
    claims = access_token_claims(token)
    if claims is None:
        return None
    family = claims.get("fam")
    params = {"user_id": int(claims["sub"]), "family": family if isinstance(family, str) else ""}
    rows = db.session.execute(_CALLER, params).all()
    if not rows:
        return None
    first = rows[0]
    if not first.is_active_account or first.session_version != claims["sv"] or first.revoked:
        return None
    return ApiCaller(
        id=first.id,
        name=first.name,
        email=first.email,
        role_names=frozenset(row.role for row in rows if row.role is not None),
        token_id=first.id,
        token_prefix="app",
        kind="app",
    )
