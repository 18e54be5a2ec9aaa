"""Token authentication for the API: never the session cookie."""

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from app.api.app_tokens import access_token_caller, looks_like_jwt
from app.api.services import ApiCaller, TokenLookup, look_up_token
from app.core import ratelimit
from app.core.audit import record_refusal
from app.core.errors import json_error
from app.core.security import has_role
from app.core.timeutil import utcnow


def _key_from_header() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and key.strip():
        return key.strip()
    return None


def caller_for(key: str, before_load: Callable[[], None] | None = None) -> ApiCaller | None:
    """The user behind a staff token, or behind an app's access token (a JWT)."""
    return _look_up(key, before_load).caller


def _look_up(
    key: str,
    before_load: Callable[[], None] | None = None,
    rate_limit: tuple[str, str] | None = None,
) -> TokenLookup:
    if looks_like_jwt(key):
        if before_load is not None:
            before_load()
        return TokenLookup(access_token_caller(key))
    return look_up_token(key, before_load, rate_limit)


def _address() -> str:
    return "address:" + ratelimit.remote_address()


def resolve_caller(limit: str, scope: str) -> ApiCaller | None:
    """The request's token user, counted against `limit` per token, or per address without a
    valid key; RateLimited (429) when the allowance is spent."""
    # A missing, made-up or revoked key counts against the client's address, and a spent
    # address is refused before any key of it is looked up: rotating made-up keys gets 429 like
    # anything else. A verified token never uses up its address's allowance (many scanners may
    # share one address behind a router).
    # A staff token this worker holds is counted with the read of the revocation counter, in
    # one Redis round trip (look_up_token); anything else is counted here.
    key = _key_from_header()
    caller, counted = None, False
    if key:
        caller, counted = _look_up(
            key,
            before_load=lambda: ratelimit.check(limit, scope, _address(), count=False),
            rate_limit=(limit, scope),
        )
    if caller is None:
        ratelimit.check(limit, scope, _address())
    elif not counted:
        ratelimit.check(limit, scope, caller.rate_key)
    g.api_caller = caller
    return caller


def api_rate_limited(limit: Callable[[], str], scope: str):
    """Give an API view its own limit, counted as resolve_caller counts."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            resolve_caller(limit(), scope)
            return view(*args, **kwargs)

        wrapped.own_rate_limit = True
        return wrapped

    return decorator


# The scope a staff token needs, by the first part of the path under /api/v1/ (reading
# members needs members:read, changing them members:write); paths not listed need none.
SCOPE_BY_PART = {"checkin": "checkin", "polls": "polls", "events": "events"}


def scope_for_request() -> str | None:
    """The scope this API request needs, judged by its path and method."""
    parts = request.path.removeprefix("/api/v1/").split("/")
    if parts[0] == "members":
        return "members:read" if request.method in ("GET", "HEAD") else "members:write"
    if "checkin" in parts:
        return "checkin"
    return SCOPE_BY_PART.get(parts[0])


def token_refusal(user: ApiCaller, scope: str | None):
    """The error answer for a staff token that may not do this request, or None."""
    if user.kind != "token":
        return None
    if user.expires_at is not None and user.expires_at <= utcnow():
        return json_error(
            401,
            _("This API token has expired."),
            code="token_expired",
            headers={"WWW-Authenticate": 'Token realm="api"'},
        )
    if user.lacks_second_factor:
        return json_error(
            403,
            _("This token's user has a staff role and must set up a second factor first."),
            code="second_factor_required",
        )
    needed = scope or scope_for_request()
    if needed and user.scopes is not None and needed not in user.scopes:
        record_refusal(actor_id=user.id, token=user.token_prefix)
        return json_error(
            403,
            _("This token does not have the scope %(scope)s.", scope=needed),
            code="insufficient_scope",
        )
    return None


def token_required(*roles: str, scope: str | None = None):
    """Require a valid token whose user holds one of the roles (none listed: any user); a staff
    token also needs the request's scope (`scope`, else judged from the path), must not have
    expired, and its staff user needs a second factor when REQUIRE_2FA_FOR_STAFF is on."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if "api_caller" in g:  # already read with the rate limit
                user = g.api_caller
            else:
                key = _key_from_header()
                user = caller_for(key) if key else None
            if user is None:
                return json_error(
                    401,
                    _("A valid API token is required."),
                    headers={"WWW-Authenticate": 'Token realm="api"'},
                )
            refusal = token_refusal(user, scope)
            if refusal is not None:
                return refusal
            if roles and not has_role(user, *roles):
                record_refusal(actor_id=user.id, token=user.token_prefix)
                return json_error(403, _("This token's user does not have the required role."))
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator
