"""Creating, revoking and checking API tokens."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import redis
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session

from app.api.models import PREFIX_LENGTH, SCOPES, ApiToken, hash_key
from app.auth.models import User, UserRole
from app.core import audit, ratelimit
from app.core.errors import DomainError, NotFound
from app.core.security import has_role
from app.core.timeutil import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_CACHE_SIZE = 1000
# A counter in Redis that every change to who may use a token raises (a revoked token, a closed
# account, a role granted or removed); a worker's cached tokens are valid only with its value.
AUTH_GENERATION_KEY = "felag:api-auth-generation"


def create_token(
    user: User,
    name: str,
    created_by: User | None = None,
    scopes: list[str] | tuple[str, ...] = SCOPES,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the user with these scopes (and an optional expiry); the plain key is
    returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the token a name."), field="name")
    chosen = [scope for scope in SCOPES if scope in set(scopes)]
    if not chosen or len(chosen) != len(set(scopes)):
        raise DomainError(_l("Choose at least one of the offered scopes."), field="scopes")
    if expires_at is not None and expires_at <= utcnow():
        raise DomainError(_l("The expiry must be in the future."), field="expires_on")
    key = ApiToken.generate()
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        created_by_id=created_by.id if created_by else None,
        scopes=" ".join(chosen),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.created",
        "api_token",
        token.id,
        after={"name": token.name, "scopes": chosen},
        actor_id=created_by.id if created_by else user.id,
        subject_user_id=user.id,
    )
    return token, key


def revoke_token(token_id: int, actor: User) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "token.revoked", "api_token", token.id, actor_id=actor.id, subject_user_id=token.user_id
        )
    return token


@dataclass(frozen=True)
class ApiCaller:
    """Who an API request acts for: the token's user, with the roles it held at that moment.

    Read with one Core query on every API request, so that authenticating costs little next
    to what the request does (a check-in is one statement); views that need the full User
    load it by id.
    """

    id: int
    name: str
    email: str
    role_names: frozenset[str]
    token_id: int
    token_prefix: str
    is_authenticated: bool = True
    # "token" (a staff token, token_id is its id) or "app" (an access token, token_id the user's)
    kind: str = "token"
    # A staff token's scopes (None: not limited by scopes), its expiry, and whether its user
    # lacks a second factor that REQUIRE_2FA_FOR_STAFF asks of staff.
    scopes: frozenset[str] | None = None
    expires_at: datetime | None = None
    lacks_second_factor: bool = False

    @property
    def rate_key(self) -> str:
        """What the API's rate limit counts against: the token, or the app user."""
        return f"{self.kind}:{self.token_id}"

    def has_role(self, *roles: str) -> bool:
        return has_role(self, *roles)


_tokens, _users, _roles = ApiToken.__table__, User.__table__, UserRole.__table__
_CALLER = (
    select(
        _tokens.c.id,
        _tokens.c.prefix,
        _tokens.c.last_used_at,
        _tokens.c.scopes,
        _tokens.c.expires_at,
        _users.c.id.label("user_id"),
        _users.c.name,
        _users.c.email,
        _roles.c.role,
    )
    .select_from(
        _tokens.join(_users, _users.c.id == _tokens.c.user_id).outerjoin(
            _roles, _roles.c.user_id == _users.c.id
        )
    )
    .where(
        _tokens.c.key_hash == bindparam("key_hash"),
        _tokens.c.revoked_at.is_(None),
        _users.c.is_active_account.is_(True),
    )
)


class TokenLookup(NamedTuple):
    """A token's user (None: not a valid token), and whether the request was already counted
    against that user's rate limit (look_up_token's rate_limit)."""

    caller: ApiCaller | None
    counted: bool = False


def look_up_token(
    key: str,
    before_load: Callable[[], None] | None = None,
    rate_limit: tuple[str, str] | None = None,
) -> TokenLookup:
    """The active user behind a valid, unrevoked token.

    A worker keeps what it found for API_TOKEN_CACHE_SECONDS (a scanner sends several requests
    a second; reading the token was a quarter of a check-in's CPU), but only while the shared
    revocation counter in Redis is unchanged: a token revoked, a role removed or an account
    closed on any worker stops working on every worker at once. Unknown keys are never kept.
    `before_load` runs before the database is asked (the API's per-address rate limit).

    `rate_limit` ((limit, scope)): for a token this worker holds, the counter is read and the
    request counted against the token's rate limit in one Redis round trip, only while the
    counter is unchanged (ratelimit.check_if_unchanged); `counted` says it was, and RateLimited
    is raised when the limit is spent. Otherwise nothing is counted here.
    """
    key_hash = hash_key(key)
    ttl = current_app.config.get("API_TOKEN_CACHE_SECONDS", 0)
    cache = _token_cache()
    now = time.monotonic()
    kept = cache.get(key_hash)
    counted = False
    if not ttl:
        generation = None
    elif rate_limit is not None and kept is not None and kept[0] > now:
        generation, counted = _generation_counting(kept[1], kept[2], rate_limit)
    else:
        generation = auth_generation()
    if kept is not None and generation is not None and kept[0] > now and kept[1] == generation:
        return TokenLookup(kept[2], counted)
    if before_load is not None:
        before_load()
    caller = _load_caller(key_hash)
    if len(cache) >= TOKEN_CACHE_SIZE:
        cache.clear()
    if caller is None or generation is None:
        cache.pop(key_hash, None)
    else:
        cache[key_hash] = (now + ttl, generation, caller)
    return TokenLookup(caller)


def _generation_counting(
    generation: bytes, caller: ApiCaller, rate_limit: tuple[str, str]
) -> tuple[bytes | None, bool]:
    """The revocation counter (as auth_generation reads it) and whether the request was counted
    against the kept caller's rate limit in the same round trip (only when the counter still
    holds `generation`, the value the caller was kept with)."""
    client = _auth_redis()
    if client is None:
        return auth_generation(), False
    limit, scope = rate_limit
    try:
        read = ratelimit.check_if_unchanged(
            limit, scope, caller.rate_key, client, AUTH_GENERATION_KEY, generation
        )
    except redis.RedisError:
        return None, False  # as auth_generation: trust no cached token; nothing was counted
    if read is None:  # not in one round trip here (another Redis, limits off): apart
        return auth_generation(), False
    return read, read == generation


def _token_cache() -> dict[str, tuple[float, bytes, ApiCaller]]:
    return current_app.extensions.setdefault("api_token_cache", {})


def _auth_redis() -> redis.Redis | None:
    """The Redis holding the revocation counter (REDIS_URL); None in development without it."""
    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("api_auth_redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        app.extensions["api_auth_redis"] = client
    return client


def auth_generation() -> bytes | None:
    """The shared revocation counter; None (trust no cached token) when Redis does not answer."""
    client = _auth_redis()
    if client is None:
        return b"local"  # one process: a change clears this worker's cache (bump_auth_generation)
    try:
        return client.get(AUTH_GENERATION_KEY) or b"0"
    except redis.RedisError:
        return None


def bump_auth_generation() -> None:
    """Make every worker read its tokens again (after a revocation, role or account change)."""
    _token_cache().clear()
    client = _auth_redis()
    if client is None:
        return
    try:
        client.incr(AUTH_GENERATION_KEY)
    except redis.RedisError:
        log.warning("Could not raise the API token revocation counter; caches expire by time")


def _changes_token_access(session: Session) -> bool:
    """True when the flush revokes a token, closes or reopens an account, or changes roles."""
    for obj in session.dirty:
        if isinstance(obj, ApiToken) and inspect(obj).attrs.revoked_at.history.has_changes():
            return True
        if isinstance(obj, User):
            attrs = inspect(obj).attrs
            # A role removed from user.roles is deleted as an orphan only inside the flush.
            if attrs.is_active_account.history.has_changes() or attrs.roles.history.has_changes():
                return True
            if attrs.totp_confirmed_at.history.has_changes():  # staff tokens need a 2nd factor
                return True
    return any(isinstance(obj, (UserRole, User, ApiToken)) for obj in session.deleted) or any(
        isinstance(obj, UserRole) for obj in session.new
    )


@event.listens_for(Session, "before_flush")
def _note_token_access_changes(session: Session, flush_context, instances) -> None:
    if _changes_token_access(session):
        session.info["api_auth_changed"] = True


@event.listens_for(Session, "after_commit")
def _announce_token_access_changes(session: Session) -> None:
    if session.info.pop("api_auth_changed", False) and has_app_context():
        bump_auth_generation()


@event.listens_for(Session, "after_rollback")
def _forget_token_access_changes(session: Session) -> None:
    session.info.pop("api_auth_changed", None)


def _load_caller(key_hash: str) -> ApiCaller | None:
    """Read the token, its user and roles; record the token's use (once a minute)."""
    rows = db.session.execute(_CALLER, {"key_hash": key_hash}).all()
    if not rows:
        return None
    first = rows[0]
    now = utcnow()
    if first.last_used_at is None or now - first.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == first.id).values(last_used_at=now))
        db.session.commit()
    role_names = frozenset(row.role for row in rows if row.role is not None)
    return ApiCaller(
        id=first.user_id,
        name=first.name,
        email=first.email,
        role_names=role_names,
        token_id=first.id,
        token_prefix=first.prefix,
        scopes=frozenset(first.scopes.split()),
        expires_at=first.expires_at,
        lacks_second_factor=_lacks_second_factor(first.user_id, role_names),
    )


def _lacks_second_factor(user_id: int, role_names: frozenset[str]) -> bool:
    """True for a staff user without the second factor REQUIRE_2FA_FOR_STAFF asks for."""
    if not role_names or not current_app.config.get("REQUIRE_2FA_FOR_STAFF"):
        return False
    from app.auth.factors import has_second_factor

    return not has_second_factor(db.session.get(User, user_id))
