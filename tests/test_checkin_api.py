"""The check-in API: every result, forged and wrong-event codes, nonce replay, token auth,
malformed JSON, rate limits, undo and counts."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.api.models import ApiToken
from app.api.services import create_token, revoke_token
from app.checkin.models import Scan
from app.core.audit import AuditEntry
from app.events.models import Registration
from app.events.tickets import make_code, new_key_pair
from app.extensions import db
from tests.factories import make_event, make_registration, make_user


@pytest.fixture
def door(ctx):
    """A door volunteer with an API token, and an event with a confirmed registration."""
    user = make_user(name="Anna Door", roles=["door"])
    _token, key = create_token(user, "scanner 1")
    event = make_event("Spring party")
    guest = make_user(name="Bjarni Guest", email="bjarni@example.org")
    registration = make_registration(event, guest)
    db.session.commit()
    return SimpleNamespace(user=user, key=key, event=event, registration=registration)


def auth(key: str) -> dict:
    return {"Authorization": f"Token {key}"}


def scan(client, key: str, code: str, event_id: int, nonce: str | None = None):
    body = {"code": code, "event_id": event_id, "nonce": nonce or uuid.uuid4().hex}
    return client.post("/api/v1/checkin", json=body, headers=auth(key))


def forge(code: str) -> str:
    """The same code with one character of its signature changed."""
    event_id, ticket_id, signature = code.split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{event_id}.{ticket_id}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def scan_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Scan.id)))


def test_ok_then_already_checked_in(client, door):
    code = door.registration.ticket_code
    first = scan(client, door.key, code, door.event.id)
    assert first.status_code == 200
    body = first.get_json()
    assert body["status"] == "ok"
    assert body["registration"] == {"id": door.registration.id, "name": "Bjarni Guest"}
    assert body["checked_in_by"] == "Anna Door"
    assert body["checked_in_at"]

    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is not None
    assert door.registration.checked_in_by_id == door.user.id

    again = scan(client, door.key, code, door.event.id).get_json()
    assert again["status"] == "already_checked_in"
    assert again["registration"]["name"] == "Bjarni Guest"
    assert again["checked_in_at"] == body["checked_in_at"]
    assert again["checked_in_by"] == "Anna Door"


def test_the_ticket_url_from_the_qr_is_accepted(client, door, app):
    url = f"{app.config['BASE_URL']}/t/{door.registration.ticket_code}"
    assert scan(client, door.key, url, door.event.id).get_json()["status"] == "ok"


def test_wrong_event(client, door):
    other = make_event("Autumn party")
    elsewhere = make_registration(other)
    db.session.commit()
    body = scan(client, door.key, elsewhere.ticket_code, door.event.id).get_json()
    assert body == {
        "status": "wrong_event",
        "registration": None,
        "checked_in_at": None,
        "checked_in_by": None,
        "event": {"title": "Autumn party"},  # the event the ticket belongs to
    }
    db.session.refresh(elsewhere)
    assert elsewhere.checked_in_at is None
    # The same code at its own event is fine.
    assert scan(client, door.key, elsewhere.ticket_code, other.id).get_json()["status"] == "ok"


@pytest.mark.parametrize(
    ("state", "status"), [("cancelled", "cancelled"), ("waiting", "not_confirmed")]
)
def test_cancelled_and_waiting_registrations_are_refused(client, door, state, status):
    door.registration.state = state
    db.session.commit()
    body = scan(client, door.key, door.registration.ticket_code, door.event.id).get_json()
    assert body["status"] == status
    assert body["registration"] == {"id": door.registration.id, "name": "Bjarni Guest"}
    assert body["checked_in_at"] is None
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None


def test_unknown_codes(client, door):
    private, _public = new_key_pair()
    signed_by_someone_else = make_code(door.event.id, private)
    genuine_but_never_issued = make_code(door.event.id, door.event.signing_key_encrypted)
    for text in (
        "hello",
        "",
        forge(door.registration.ticket_code),
        signed_by_someone_else,
        genuine_but_never_issued,
        "999999." + door.registration.ticket_code.split(".", 1)[1],
    ):
        response = scan(client, door.key, text or " ", door.event.id)
        if not text.strip():
            assert response.status_code == 422
            continue
        body = response.get_json()
        assert body["status"] == "unknown", text
        assert body["registration"] is None
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None


def test_a_forged_code_is_refused_before_any_registration_is_read(client, door):
    forged, event_id = forge(door.registration.ticket_code), door.event.id
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        body = scan(client, door.key, forged, event_id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    assert body.get_json()["status"] == "unknown"
    touching = [s for s in statements if "FROM registrations" in s or "UPDATE registrations" in s]
    assert touching == []
    assert any("INSERT INTO checkin_scans" in s for s in statements)


def test_every_scan_is_logged_with_who_device_result_and_nonce(client, door):
    scan(client, door.key, door.registration.ticket_code, door.event.id, nonce="n-1")
    scan(client, door.key, door.registration.ticket_code, door.event.id, nonce="n-2")
    scan(client, door.key, "not a code", door.event.id, nonce="n-3")
    rows = db.session.scalars(sa.select(Scan).order_by(Scan.id)).all()
    assert [(r.nonce, r.result) for r in rows] == [
        ("n-1", "ok"),
        ("n-2", "already_checked_in"),
        ("n-3", "unknown"),
    ]
    assert {r.user_id for r in rows} == {door.user.id}
    assert {r.source for r in rows} == {"api"}
    assert all(r.device.startswith("API " + door.key[:8]) for r in rows)
    assert rows[0].registration_id == door.registration.id
    assert rows[2].registration_id is None


def test_a_retry_with_the_same_nonce_gets_the_same_answer_and_records_nothing(client, door):
    code = door.registration.ticket_code
    first = scan(client, door.key, code, door.event.id, nonce="retry-1").get_json()
    assert first["status"] == "ok"
    assert scan_count() == 1

    again = scan(client, door.key, code, door.event.id, nonce="retry-1").get_json()
    assert again == first
    assert scan_count() == 1

    # Even after an undo, the retried request does not check the person in a second time.
    client.post(
        "/api/v1/checkin/undo",
        json={"registration_id": door.registration.id},
        headers=auth(door.key),
    )
    count = scan_count()
    assert scan(client, door.key, code, door.event.id, nonce="retry-1").get_json() == first
    assert scan_count() == count
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None

    # A forged code's answer is replayed too.
    forged = forge(code)
    assert scan(client, door.key, forged, door.event.id, nonce="retry-2").get_json()["status"] == (
        "unknown"
    )
    count = scan_count()
    assert scan(client, door.key, forged, door.event.id, nonce="retry-2").get_json()["status"] == (
        "unknown"
    )
    assert scan_count() == count


def test_the_same_nonce_for_another_code_is_a_conflict(client, door):
    other = make_registration(door.event)
    db.session.commit()
    scan(client, door.key, door.registration.ticket_code, door.event.id, nonce="reused")
    response = scan(client, door.key, other.ticket_code, door.event.id, nonce="reused")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "nonce_reused"
    db.session.refresh(other)
    assert other.checked_in_at is None


def test_token_auth_none_bad_revoked_and_wrong_role(client, door):
    body = {"code": door.registration.ticket_code, "event_id": door.event.id, "nonce": "x1"}
    none = client.post("/api/v1/checkin", json=body)
    assert none.status_code == 401
    assert none.get_json()["error"]["code"] == "unauthorized"

    bad = client.post("/api/v1/checkin", json=body, headers=auth("flg_not-a-real-token"))
    assert bad.status_code == 401

    organiser = make_user(roles=["organiser"])
    _t, organiser_key = create_token(organiser, "not a door token")
    revoked_user = make_user(roles=["door"])
    revoked, revoked_key = create_token(revoked_user, "lost phone")
    revoke_token(revoked.id, revoked_user)
    db.session.commit()

    assert client.post("/api/v1/checkin", json=body, headers=auth(revoked_key)).status_code == 401
    wrong_role = client.post("/api/v1/checkin", json=body, headers=auth(organiser_key))
    assert wrong_role.status_code == 403
    assert wrong_role.get_json()["error"]["code"] == "forbidden"

    for method, url in (
        ("post", "/api/v1/checkin/undo"),
        ("get", f"/api/v1/events/{door.event.id}/checkin"),
    ):
        assert getattr(client, method)(url).status_code == 401
        assert getattr(client, method)(url, headers=auth(organiser_key)).status_code == 403

    # Nothing got through.
    assert scan_count() == 0
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None
    # Bearer works as well as Token.
    bearer = {"Authorization": f"Bearer {door.key}"}
    assert client.post("/api/v1/checkin", json=body, headers=bearer).get_json()["status"] == "ok"


def test_a_deactivated_users_token_is_refused_and_admin_implies_door(client, door):
    body = {"code": door.registration.ticket_code, "event_id": door.event.id, "nonce": "x2"}
    gone = make_user(roles=["door"])
    _t, gone_key = create_token(gone, "old phone")
    admin = make_user(roles=["admin"])
    _t, admin_key = create_token(admin, "admin's scanner")
    gone.is_active_account = False
    db.session.commit()
    assert client.post("/api/v1/checkin", json=body, headers=auth(gone_key)).status_code == 401
    ok = client.post("/api/v1/checkin", json=body, headers=auth(admin_key))
    assert ok.get_json()["status"] == "ok"
    assert db.session.scalars(sa.select(Scan.device)).one().startswith("API " + admin_key[:8])


def test_a_worker_trusts_a_token_it_has_read_for_the_cache_time(client, door, app, monkeypatch):
    from app.api import services

    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    monkeypatch.setitem(app.config, "API_TOKEN_CACHE_SECONDS", 10)
    counts = f"/api/v1/events/{door.event.id}/checkin"
    assert client.get(counts, headers=auth(door.key)).status_code == 200
    # Another worker revokes the token: this worker learns it when its copy expires.
    db.session.execute(sa.text("UPDATE api_tokens SET revoked_at = now()"))
    db.session.commit()
    clock[0] += 9
    assert client.get(counts, headers=auth(door.key)).status_code == 200
    clock[0] += 2
    assert client.get(counts, headers=auth(door.key)).status_code == 401


def test_a_revocation_in_this_worker_and_no_cache_take_effect_at_once(
    client, door, app, monkeypatch
):
    counts = f"/api/v1/events/{door.event.id}/checkin"
    assert client.get(counts, headers=auth(door.key)).status_code == 200
    token = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == door.user.id)).one()
    revoke_token(token.id, door.user)
    db.session.commit()
    assert client.get(counts, headers=auth(door.key)).status_code == 401

    other = make_user(roles=["door"])
    _t, other_key = create_token(other, "scanner 3")
    db.session.commit()
    monkeypatch.setitem(app.config, "API_TOKEN_CACHE_SECONDS", 0)
    assert client.get(counts, headers=auth(other_key)).status_code == 200
    db.session.execute(
        sa.text("UPDATE users SET is_active_account = false WHERE id = :id"), {"id": other.id}
    )
    db.session.commit()
    assert client.get(counts, headers=auth(other_key)).status_code == 401


def test_the_session_cookie_does_not_authenticate_the_api(client, door):
    from tests.helpers import login

    login(client, door.user.email)
    body = {"code": door.registration.ticket_code, "event_id": door.event.id, "nonce": "s1"}
    assert client.post("/api/v1/checkin", json=body).status_code == 401


def test_malformed_json_and_missing_fields(client, door):
    response = client.post(
        "/api/v1/checkin",
        data="{not json",
        content_type="application/json",
        headers=auth(door.key),
    )
    assert response.status_code == 400
    assert response.content_type == "application/json"
    assert response.get_json()["error"]["code"] == "bad_request"

    response = client.post("/api/v1/checkin", json=["a list"], headers=auth(door.key))
    assert response.status_code == 400

    missing_nonce = client.post(
        "/api/v1/checkin",
        json={"code": door.registration.ticket_code, "event_id": door.event.id},
        headers=auth(door.key),
    )
    assert missing_nonce.status_code == 422
    assert "nonce" in missing_nonce.get_json()["error"]["fields"]

    bad_event = client.post(
        "/api/v1/checkin",
        json={"code": door.registration.ticket_code, "event_id": "12", "nonce": "n"},
        headers=auth(door.key),
    )
    assert bad_event.status_code == 422
    assert "event_id" in bad_event.get_json()["error"]["fields"]

    no_event = scan(client, door.key, door.registration.ticket_code, 987654)
    assert no_event.status_code == 404
    assert no_event.get_json()["error"]["code"] == "not_found"
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None


def test_bursts_get_429_with_retry_after(client, door, app, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_RATE_LIMIT", "3 per minute")
    statuses = [scan(client, door.key, "nothing", door.event.id).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = scan(client, door.key, "nothing", door.event.id)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "rate_limited"
    # Another token has its own allowance.
    other = make_user(roles=["door"])
    _t, other_key = create_token(other, "scanner 2")
    db.session.commit()
    assert scan(client, other_key, "nothing", door.event.id).status_code == 200


def test_the_default_check_in_limit_allows_more_than_the_api_default(app):
    from limits import parse

    limit = parse(app.config["CHECKIN_RATE_LIMIT"])
    api = parse(app.config["API_RATE_LIMIT"])
    assert limit.amount / limit.get_expiry() > api.amount / api.get_expiry()


def test_the_api_limit_answers_429_and_scans_are_counted_apart(client, door, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    me = [client.get("/api/v1/me", headers=auth(door.key)) for _ in range(3)]
    assert [r.status_code for r in me] == [200, 200, 429]
    assert 0 < int(me[2].headers["Retry-After"]) <= 60
    assert me[2].get_json()["error"]["code"] == "rate_limited"
    # Check-ins have their own, larger allowance: the spent API limit does not stop the door.
    assert scan(client, door.key, door.registration.ticket_code, door.event.id).status_code == 200


def test_undo(client, door):
    scan(client, door.key, door.registration.ticket_code, door.event.id)
    response = client.post(
        "/api/v1/checkin/undo",
        json={"registration_id": door.registration.id},
        headers=auth(door.key),
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "undone",
        "registration": {"id": door.registration.id, "name": "Bjarni Guest"},
    }
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None
    assert door.registration.checked_in_by_id is None
    undo_row = db.session.scalar(sa.select(Scan).where(Scan.action == "undo"))
    assert (undo_row.result, undo_row.user_id) == ("undone", door.user.id)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "checkin.undone"))
    assert entry.object_id == door.registration.id and entry.actor_id == door.user.id

    again = client.post(
        "/api/v1/checkin/undo",
        json={"registration_id": door.registration.id},
        headers=auth(door.key),
    )
    assert again.get_json()["status"] == "not_checked_in"
    # Checked in again after the undo.
    assert (
        scan(client, door.key, door.registration.ticket_code, door.event.id).get_json()["status"]
        == "ok"
    )

    missing = client.post(
        "/api/v1/checkin/undo", json={"registration_id": 987654}, headers=auth(door.key)
    )
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_counts(client, door):
    second = make_registration(door.event)
    make_registration(door.event, state="waiting")
    cancelled = make_registration(door.event)
    cancelled.state = "cancelled"
    db.session.commit()
    scan(client, door.key, second.ticket_code, door.event.id)
    response = client.get(f"/api/v1/events/{door.event.id}/checkin", headers=auth(door.key))
    assert response.get_json() == {"event_id": door.event.id, "confirmed": 2, "checked_in": 1}
    assert client.get("/api/v1/events/987654/checkin", headers=auth(door.key)).status_code == 404


def test_openapi_describes_the_check_in_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    status = paths["/api/v1/checkin"]["post"]["responses"]["200"]["content"]["application/json"]
    assert status["schema"]["properties"]["status"]["enum"] == [
        "ok",
        "already_checked_in",
        "wrong_event",
        "cancelled",
        "not_confirmed",
        "unknown",
    ]
    assert "/api/v1/checkin/undo" in paths
    assert "/api/v1/events/{event_id}/checkin" in paths


def test_registration_model_is_untouched_by_a_wrong_event_scan(client, door):
    other = make_event("Elsewhere")
    db.session.commit()
    scan(client, door.key, door.registration.ticket_code, other.id)
    row = db.session.get(Registration, door.registration.id)
    db.session.refresh(row)
    assert row.checked_in_at is None


def test_a_check_in_is_one_statement_with_its_door_check_and_scan_log(app, client, door):
    """The hot path (PostgreSQL): the open-door check, the check-in and its scan-log row in one
    statement; the event's public key comes from the process cache after the first scan."""
    from tests.helpers import StatementCounter

    other = make_registration(door.event, make_user(email="warm@example.org"))
    db.session.commit()
    code, event_id = door.registration.ticket_code, door.event.id
    assert scan(client, door.key, other.ticket_code, event_id).get_json()["status"] == "ok"
    with StatementCounter(app) as counter:
        answer = scan(client, door.key, code, event_id)
    assert answer.get_json()["status"] == "ok"
    touching = [
        s for s in counter.statements if any(t in s for t in ("events", "registrations", "scans"))
    ]
    if db.engine.dialect.name == "postgresql":
        assert len(touching) == 1 and "EXISTS (SELECT 1 FROM events" in touching[0]
    else:  # SQLite: the door check, the conditional UPDATE and the scan-log row apart
        assert len(touching) >= 3


def test_a_check_in_makes_one_redis_round_trip_and_one_statement(app, client, door, monkeypatch):
    """With the scanner's token in the worker's cache, a check-in asks Redis once (the token
    revocation counter is read and the scan counted against the token's limit in one script)
    and PostgreSQL once (the door check, the check-in and its scan-log row), issue 13."""
    from app.api import services as api_services
    from app.core import ratelimit
    from tests.helpers import RedisRoundTrips, StatementCounter

    if not app.config["RATELIMIT_STORAGE_URI"].startswith("redis://"):
        pytest.skip("needs a Redis server (REQUIRE_SERVICES=1 makes it a failure)")
    # A fixed clock: no per-process cache (token, webhook subscriptions) runs out in between.
    monkeypatch.setattr(api_services.time, "monotonic", lambda: 1000.0)
    other = make_registration(door.event, make_user(email="warm@example.org"))
    db.session.commit()
    code, event_id = door.registration.ticket_code, door.event.id
    assert scan(client, door.key, other.ticket_code, event_id).get_json()["status"] == "ok"
    with RedisRoundTrips() as redis_trips, StatementCounter(app) as counter:
        answer = scan(client, door.key, code, event_id)
    assert answer.get_json()["status"] == "ok"
    assert redis_trips.commands == ["EVALSHA"]
    # (Which webhook events have endpoints is read every few seconds, not per check-in.)
    statements = [
        s
        for s in counter.statements
        if not counter.BOOKKEEPING.search(s) and "FROM webhook_endpoints" not in s
    ]
    assert len(statements) == 1, statements
    assert "UPDATE registrations" in statements[0] and "INSERT INTO checkin_scans" in statements[0]
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is not None
    # Both scans were counted against the token, in the window the rate limit reads.
    limit = ratelimit.item(app.config["CHECKIN_RATE_LIMIT"])
    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == door.user.id))
    window = ratelimit.limiter().get_window_stats(limit, "api-checkin", f"token:{token_id}")
    assert window.remaining == limit.amount - 2
