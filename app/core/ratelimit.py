"""Rate limits: the `limits` library on Redis (or in memory without REDIS_URL), one storage call
per check.

Only a few routes are limited (login, sign-up, reset and verification posts; the API; the
door's scans), so limits are declared on those routes with `rate_limited` and nothing runs on
the others. (Flask-Limiter, which wraps the same library, resolved limits and exemptions in a
hook on every request: about 0.12 ms of each page and 0.7 ms of each check-in; see
bench/README.md.) A refused request raises RateLimited, a 429 whose Retry-After says when the
window lets the next request through.

Config: RATELIMIT_STORAGE_URI (REDIS_URL when set, else memory://), RATELIMIT_STRATEGY
("moving-window"), RATELIMIT_ENABLED.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache, wraps

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def init_app(app: Flask) -> None:
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    strategy = STRATEGIES[app.config.get("RATELIMIT_STRATEGY") or "moving-window"]
    app.extensions["ratelimit"] = strategy(storage)
    # While Redis is unreachable, limits are counted in this process instead: still a limit,
    # and a Redis outage does not turn every login, API call and scan into an error page.
    app.extensions["ratelimit_fallback"] = strategy(storage_from_string("memory://"))


def limiter() -> RateLimiter:
    """The app's `limits` strategy (hit, test, get_window_stats, clear)."""
    return current_app.extensions["ratelimit"]


def _call(method: str, limit: RateLimitItem, scope: str, *keys: str) -> tuple[bool, RateLimiter]:
    strategy = limiter()
    try:
        return getattr(strategy, method)(limit, scope, *keys), strategy
    except Exception as exc:  # the storage is down: count in this process until it is back
        log.warning("Rate-limit storage unreachable (%s); counting in-process", type(exc).__name__)
        fallback = current_app.extensions["ratelimit_fallback"]
        return getattr(fallback, method)(limit, scope, *keys), fallback


@lru_cache(maxsize=64)
def item(limit: str) -> RateLimitItem:
    """A limit such as "30 per minute", parsed once."""
    return parse(limit)


def hit(limit: RateLimitItem, scope: str, *keys: str) -> bool:
    """Count one against the limit; False when it was already spent."""
    return _call("hit", limit, scope, *keys)[0]


def test(limit: RateLimitItem, scope: str, *keys: str) -> bool:
    """True when the limit still has room, without counting."""
    return _call("test", limit, scope, *keys)[0]


def check(limit: str, scope: str, key: str, count: bool = True) -> None:
    """Count one request against `limit` for this scope and key; RateLimited when it is spent.
    With count=False only look whether there is room left."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    allowed, strategy = _call("hit" if count else "test", item(limit), scope, key)
    if not allowed:
        reset_at = strategy.get_window_stats(item(limit), scope, key).reset_time
        raise RateLimited(max(1, int(reset_at - time.time() + 0.999)))


def remote_address() -> str:
    """The client's address (ProxyFix has applied PROXY_HOPS to X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def rate_limited(
    limit: Callable[[], str],
    key: Callable[[], str] = remote_address,
    scope: str = "",
    methods: tuple[str, ...] | None = None,
):
    """Decorate a view: at most `limit()` requests per `key()` for this view (only for `methods`
    when given). Views marked so are skipped by blueprint-wide checks (`has_own_limit`)."""

    def decorator(view):
        name = f"{scope or view.__module__}:{view.__name__}"

        @wraps(view)
        def wrapped(*args, **kwargs):
            if methods is None or request.method in methods:
                check(limit(), name, key())
            return view(*args, **kwargs)

        wrapped.own_rate_limit = True
        return wrapped

    return decorator


def has_own_limit(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    return bool(getattr(view, "own_rate_limit", False))
