"""Rate limits: the `limits` library on Redis (or in memory without REDIS_URL), one storage call
per check.

Only a few routes are limited (login, sign-up, reset and verification posts; the API; the
door's scans), so limits are declared on those routes with `rate_limited` and nothing runs on
the others. (Flask-Limiter, which wraps the same library, resolved limits and exemptions in a
hook on every request: about 0.12 ms of each page and 0.7 ms of each check-in; see
bench/README.md.) A refused request raises RateLimited, a 429 whose Retry-After says when the
window lets the next request through.

check_if_unchanged counts a hit in the same Redis round trip that reads another key (the API
token cache's revocation counter), so that an API request with a token this worker holds asks
Redis once.

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
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import STRATEGIES, MovingWindowRateLimiter, RateLimiter
from redis import Redis
from redis.exceptions import NoScriptError
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
        _refuse(strategy, limit, scope, key)


def _refuse(strategy: RateLimiter, limit: str, scope: str, key: str):
    reset_at = strategy.get_window_stats(item(limit), scope, key).reset_time
    raise RateLimited(max(1, int(reset_at - time.time() + 0.999)))


# limits' own moving-window acquire script (KEYS[1], ARGV[1..4]: the same list, the same entries
# as strategy.hit writes), run only while KEYS[2] still holds ARGV[5]. A missing or empty KEYS[2]
# reads as '0'. Returns {value of KEYS[2], 1 counted | 0 limit spent | -1 changed, not counted}.
HIT_IF_UNCHANGED = "\n".join(
    [
        "local function acquire(KEYS, ARGV)",
        RedisStorage.SCRIPT_ACQUIRE_MOVING_WINDOW.decode(),
        "end",
        "local current = redis.call('get', KEYS[2])",
        "if not current or current == '' then current = '0' end",
        "if current ~= ARGV[5] then return {current, -1} end",
        "if acquire(KEYS, ARGV) then return {current, 1} end",
        "return {current, 0}",
    ]
)


def _same_redis(a, b) -> bool:
    """True when two Redis clients talk to the same server and database."""
    try:
        pool_a, pool_b = a.connection_pool, b.connection_pool
        kwargs_a, kwargs_b = pool_a.connection_kwargs, pool_b.connection_kwargs
    except AttributeError:
        return False
    return pool_a.connection_class is pool_b.connection_class and all(
        kwargs_a.get(name) == kwargs_b.get(name)
        for name in ("host", "port", "db", "path", "username", "password")
    )


def _one_trip_script(strategy: RateLimiter, client: Redis):
    """The registered HIT_IF_UNCHANGED script when the limiter is a moving window in the Redis
    `client` talks to (decided once per limiter and client); else None."""
    kept = current_app.extensions.get("ratelimit_one_trip")
    if kept is not None and kept[0] is strategy and kept[1] is client:
        return kept[2]
    storage = getattr(strategy, "storage", None)
    script = None
    if (
        type(strategy) is MovingWindowRateLimiter
        and type(storage) is RedisStorage
        and _same_redis(storage.get_connection(), client)
    ):
        script = storage.get_connection().register_script(HIT_IF_UNCHANGED)
    current_app.extensions["ratelimit_one_trip"] = (strategy, client, script)
    return script


@lru_cache(maxsize=1024)
def _window_key(storage: RedisStorage, limit: str, scope: str, key: str) -> str:
    """The Redis list strategy.hit(item(limit), scope, key) writes to."""
    return storage.prefixed_key(item(limit).key_for(scope, key))


def check_if_unchanged(
    limit: str, scope: str, key: str, client: Redis, watched: str, expected: bytes
) -> bytes | None:
    """Read the key `watched` in the Redis `client` and, only while it still holds `expected`,
    count one against `limit` as check() does (RateLimited when spent), in one round trip.

    Returns the value read (b"0" when missing); when it is not `expected`, nothing was counted.
    None when this cannot be done in one round trip here (limits off, or not a moving window in
    that same Redis): nothing was read or counted. A Redis error (redis.RedisError) is raised
    as it is; nothing was counted in this process then.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    strategy = limiter()
    script = _one_trip_script(strategy, client)
    if script is None:
        return None
    parsed = item(limit)
    keys_and_args = (
        _window_key(strategy.storage, limit, scope, key),
        watched,
        time.time(),
        parsed.amount,
        parsed.get_expiry(),
        1,
        expected,
    )
    try:
        value, outcome = script.registered_client.evalsha(script.sha, 2, *keys_and_args)
    except NoScriptError:  # not run: Redis restarted since; the Script loads it and runs it
        value, outcome = script(keys_and_args[:2], keys_and_args[2:])
    if isinstance(value, str):
        value = value.encode()
    if outcome == 0:
        _refuse(strategy, limit, scope, key)
    return value


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
