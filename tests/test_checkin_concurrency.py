"""Exactly once, under real concurrent requests against PostgreSQL through the live server.

Fifty scanners scan one ticket at the same moment: exactly one gets "ok". The second test runs
the same burst with the guard (``checked_in_at IS NULL`` in the conditional UPDATE) removed and
shows that the first test would then fail, so it cannot pass by accident.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from app.api.services import create_token
from app.checkin.models import Scan
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event, make_registration, make_user

SCANNERS = 50


def _setup(app):
    with app.app_context():
        volunteer = make_user(name="Anna Door", roles=["door"])
        _token, key = create_token(volunteer, "scanner")
        event = make_event("Crowded party")
        registration = make_registration(event)
        db.session.commit()
        return key, event.id, registration.ticket_code, registration.id


def _burst(base_url: str, key: str, event_id: int, code: str, nonces: list[str]) -> list[dict]:
    """Send one scan per nonce, all released at the same moment."""
    barrier = threading.Barrier(len(nonces))

    def one(nonce: str) -> dict:
        session = requests.Session()
        barrier.wait(timeout=30)
        response = session.post(
            f"{base_url}/api/v1/checkin",
            json={"code": code, "event_id": event_id, "nonce": nonce},
            headers={"Authorization": f"Token {key}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=len(nonces)) as pool:
        return list(pool.map(one, nonces))


def _database_state(app, registration_id: int):
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        results = Counter(db.session.scalars(sa.select(Scan.result)).all())
        return registration.checked_in_at, results


def test_fifty_simultaneous_scans_of_one_ticket_admit_exactly_one(app, postgres, live_server):
    key, event_id, code, registration_id = _setup(app)
    answers = _burst(live_server, key, event_id, code, [uuid.uuid4().hex for _ in range(SCANNERS)])

    statuses = Counter(a["status"] for a in answers)
    assert statuses == {"ok": 1, "already_checked_in": SCANNERS - 1}
    [ok] = [a for a in answers if a["status"] == "ok"]
    # Everyone refused is told when the one admission happened.
    assert {a["checked_in_at"] for a in answers} == {ok["checked_in_at"]}

    checked_in_at, logged = _database_state(app, registration_id)
    assert checked_in_at is not None
    assert logged == {"ok": 1, "already_checked_in": SCANNERS - 1}


def test_without_the_guard_the_same_burst_admits_more_than_once(
    app, postgres, live_server, monkeypatch
):
    """The check the first test relies on: drop the guard and the invariant breaks."""
    monkeypatch.setattr("app.checkin.redeem.CHECKIN_GUARD", "state = 'confirmed'")
    key, event_id, code, _registration_id = _setup(app)
    answers = _burst(live_server, key, event_id, code, [uuid.uuid4().hex for _ in range(SCANNERS)])
    assert Counter(a["status"] for a in answers)["ok"] > 1


def test_simultaneous_retries_with_one_nonce_record_one_scan(app, postgres, live_server):
    key, event_id, code, _registration_id = _setup(app)
    answers = _burst(live_server, key, event_id, code, ["same-nonce"] * 10)
    assert len({tuple(sorted((k, str(v)) for k, v in a.items())) for a in answers}) == 1
    assert answers[0]["status"] == "ok"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Scan.id))) == 1


@pytest.fixture(autouse=True)
def _fresh_key_cache(app):
    """Ids restart after each live test's truncation: start with an empty key cache."""
    app.extensions.pop("checkin_public_keys", None)
    yield
