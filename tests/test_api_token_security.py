"""API tokens: rate limits before and after a key is verified; revocations reach every worker."""

import secrets

import pytest

from app.api.services import create_token, revoke_token
from app.auth.services import set_roles
from app.extensions import db
from tests.factories import make_event, make_user


def auth(key: str) -> dict:
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def two_workers(app):
    """A second application instance: its own token cache, the same database and Redis."""
    from app import create_app
    from config import TestingConfig

    other = create_app(TestingConfig, dict(app.config))
    other.test_client_class = app.test_client_class
    return other


def test_rotating_made_up_keys_get_429(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    answers = [client.get("/api/v1/me", headers=auth(secrets.token_urlsafe(30))) for _ in range(7)]
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 2
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_made_up_keys_on_the_check_in_endpoint_get_429(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_RATE_LIMIT", "3 per minute")
    body = {"code": "x", "event_id": 1, "nonce": "n"}
    statuses = [
        client.post(
            "/api/v1/checkin", json=body, headers=auth(secrets.token_urlsafe(30))
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_no_key_at_all_counts_per_address(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    other_address = client.get("/api/v1/me", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_address.status_code == 401


def test_a_verified_token_counts_per_token_not_per_address(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    keys = []
    for n in range(2):
        _t, key = create_token(make_user(), f"sync {n}")
        keys.append(key)
    db.session.commit()
    # Two good tokens from one address (one office): each has its own allowance.
    first = [client.get("/api/v1/me", headers=auth(keys[0])).status_code for _ in range(3)]
    second = [client.get("/api/v1/me", headers=auth(keys[1])).status_code for _ in range(2)]
    assert first == [200, 200, 200] and second == [200, 200]
    assert client.get("/api/v1/me", headers=auth(keys[0])).status_code == 429


def test_made_up_keys_from_an_address_do_not_stop_the_good_tokens_used_there(
    app, client, ctx, monkeypatch
):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    _t, good = create_token(make_user(), "office sync")
    db.session.commit()
    assert client.get("/api/v1/me", headers=auth(good)).status_code == 200
    guesses = [client.get("/api/v1/me", headers=auth(secrets.token_urlsafe(30))) for _ in range(4)]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert client.get("/api/v1/me", headers=auth(good)).status_code == 200


def test_a_spent_address_is_refused_before_its_keys_are_looked_up(app, client, ctx, monkeypatch):
    from app.api import services

    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    loads = []
    original = services._load_caller
    monkeypatch.setattr(services, "_load_caller", lambda h: loads.append(h) or original(h))
    for _ in range(5):
        client.get("/api/v1/me", headers=auth(secrets.token_urlsafe(30)))
    assert len(loads) == 2  # the database is asked only while the address has room


def test_revoking_a_token_stops_it_on_every_worker_at_once(app, two_workers, ctx):
    assert app.config["API_TOKEN_CACHE_SECONDS"] > 0
    user = make_user(roles=["door"])
    token, key = create_token(user, "phone")
    db.session.commit()
    here, there = app.test_client(), two_workers.test_client()
    assert here.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert there.get("/api/v1/me", headers=auth(key)).status_code == 200  # now in its cache

    revoke_token(token.id, user)
    db.session.commit()

    assert there.get("/api/v1/me", headers=auth(key)).status_code == 401
    assert here.get("/api/v1/me", headers=auth(key)).status_code == 401


def test_a_removed_role_and_a_closed_account_stop_working_on_every_worker(app, two_workers, ctx):
    admin = make_user(roles=["admin"])
    volunteer = make_user(roles=["door"])
    _t, key = create_token(volunteer, "phone")
    event = make_event()
    db.session.commit()
    counts = f"/api/v1/events/{event.id}/checkin"
    there = two_workers.test_client()
    assert there.get(counts, headers=auth(key)).status_code == 200

    set_roles(volunteer, set(), admin)
    db.session.commit()
    assert there.get(counts, headers=auth(key)).status_code == 403

    set_roles(volunteer, {"door"}, admin)
    db.session.commit()
    assert there.get(counts, headers=auth(key)).status_code == 200

    volunteer.is_active_account = False
    db.session.commit()
    assert there.get(counts, headers=auth(key)).status_code == 401


def test_without_redis_answering_no_cached_token_is_trusted(app, ctx, monkeypatch):
    import redis

    from app.api import services

    user = make_user()
    _t, key = create_token(user, "phone")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200

    class Down:
        def get(self, *args):
            raise redis.ConnectionError("down")

        incr = get

    monkeypatch.setitem(app.extensions, "api_auth_redis", Down())
    loads = []
    original = services._load_caller
    monkeypatch.setattr(services, "_load_caller", lambda h: loads.append(h) or original(h))
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert len(loads) == 2  # read from the database each time, never from a stale copy


def _needs_redis(app):
    if not app.config["RATELIMIT_STORAGE_URI"].startswith("redis://"):
        pytest.skip("needs a Redis server (REQUIRE_SERVICES=1 makes it a failure)")


def test_a_kept_token_revoked_elsewhere_is_refused_and_counted_per_address(app, ctx, monkeypatch):
    """The revocation counter and the token's rate limit share one Redis round trip; when the
    counter has moved, nothing is counted against the token: the request is judged again and,
    refused, counted against its address (as with the two calls apart)."""
    import sqlalchemy as sa

    from app.api.services import AUTH_GENERATION_KEY, _auth_redis
    from app.core import ratelimit
    from tests.helpers import RedisRoundTrips

    _needs_redis(app)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    token, key = create_token(make_user(), "phone")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200  # read and kept
    with RedisRoundTrips() as trips:
        assert client.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert trips.commands == ["EVALSHA"]
    # Another worker revokes it: the row and the shared counter change, this worker's copy not.
    db.session.execute(
        sa.text("UPDATE api_tokens SET revoked_at = now() WHERE id = :id"), {"id": token.id}
    )
    db.session.commit()
    _auth_redis().incr(AUTH_GENERATION_KEY)
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 401
    limit = ratelimit.item("5 per minute")
    by_token = ratelimit.limiter().get_window_stats(limit, "api", f"token:{token.id}")
    by_address = ratelimit.limiter().get_window_stats(limit, "api", "address:127.0.0.1")
    assert (by_token.remaining, by_address.remaining) == (3, 4)


def test_the_one_round_trip_limit_is_the_moving_window_of_the_limits_library(app, ctx, monkeypatch):
    """Counted by the script or by limits itself, a token's requests fill the same window."""
    from app.core import ratelimit

    _needs_redis(app)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "4 per minute")
    token, key = create_token(make_user(), "phone")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200  # limits' own hit
    ratelimit.check("4 per minute", "api", f"token:{token.id}")  # and another, straight
    answers = [client.get("/api/v1/me", headers=auth(key)) for _ in range(3)]  # the script's
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    window = ratelimit.limiter().get_window_stats(
        ratelimit.item("4 per minute"), "api", f"token:{token.id}"
    )
    assert window.remaining == 0


def test_with_redis_down_a_kept_token_is_read_again_and_limits_count_in_process(
    app, ctx, monkeypatch
):
    """A Redis outage on the one round trip behaves as it did with two: no kept token is
    trusted (read from the database each time) and the limit is counted in this process."""
    import redis
    from limits.storage import storage_from_string
    from limits.strategies import STRATEGIES

    from app.api import services
    from tests.helpers import RedisRoundTrips

    _needs_redis(app)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    _t, key = create_token(make_user(), "phone")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200  # read and kept
    with RedisRoundTrips() as trips:
        assert client.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert trips.commands == ["EVALSHA"]  # the one round trip is the path being broken below

    down = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there
    strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]](storage_from_string(down))
    monkeypatch.setitem(app.extensions, "ratelimit", strategy)
    monkeypatch.setitem(
        app.extensions,
        "api_auth_redis",
        redis.Redis.from_url(down, socket_timeout=0.5, socket_connect_timeout=0.5),
    )
    loads = []
    original = services._load_caller
    monkeypatch.setattr(services, "_load_caller", lambda h: loads.append(h) or original(h))
    statuses = [client.get("/api/v1/me", headers=auth(key)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # the in-process fallback's own count
    assert len(loads) == 4  # never from the kept copy while the counter cannot be read


def test_the_one_round_trip_script_is_loaded_again_when_redis_forgot_it(app, ctx, monkeypatch):
    """After a Redis restart the script is unknown: it is loaded, run once, counted once."""
    from app.api.services import _auth_redis
    from app.core import ratelimit
    from tests.helpers import RedisRoundTrips

    _needs_redis(app)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    token, key = create_token(make_user(), "phone")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=auth(key)).status_code == 200  # read and kept
    script = ratelimit._one_trip_script(ratelimit.limiter(), _auth_redis())
    monkeypatch.setattr(script, "sha", "0" * 40)  # a sha Redis does not know, as after a restart
    with RedisRoundTrips() as trips:
        assert client.get("/api/v1/me", headers=auth(key)).status_code == 200
    assert trips.commands == ["EVALSHA", "EVALSHA", "SCRIPT", "EVALSHA"]
    window = ratelimit.limiter().get_window_stats(
        ratelimit.item("5 per minute"), "api", f"token:{token.id}"
    )
    assert window.remaining == 3
