"""The door pages and their session JSON endpoints (CSRF header), the offline bundle and sync."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.checkin.models import Scan
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login


@pytest.fixture
def door(ctx, client):
    """A logged-in door volunteer, an event with a confirmed registration, and the CSRF token."""
    user = make_user(name="Anna Door", roles=["door"], email="anna@example.org")
    event = make_event("Spring party")
    guest = make_user(name="Bjarni Guest", email="bjarni@example.org")
    registration = make_registration(event, guest)
    db.session.commit()
    login(client, user.email)
    page = client.get(f"/door/{event.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return type(
        "Door",
        (),
        {"user": user, "event": event, "registration": registration, "csrf": token, "html": html},
    )


def post(client, door, path: str, body: dict, csrf: bool = True):
    headers = {"X-CSRFToken": door.csrf} if csrf else {}
    return client.post(f"/door/{door.event.id}/{path}", json=body, headers=headers)


def scan(client, door, code: str, **extra):
    body = {"code": code, "nonce": uuid.uuid4().hex, "device": "d-test", **extra}
    return post(client, door, "scan", body)


def test_door_index_needs_the_door_role_and_lists_today_first(client, ctx):
    later = make_event("Later event", days_ahead=3)
    tonight = make_event("Tonight", days_ahead=0)
    make_event("Draft", status="draft", days_ahead=0)
    make_event("Long over", days_ahead=-10)
    make_user("plain@example.org")
    make_user("doorman@example.org", roles=["door"])
    db.session.commit()

    assert client.get("/door/").status_code == 302  # to the login page
    login(client, "plain@example.org")
    assert client.get("/door/").status_code == 403

    client2 = client.application.test_client()
    login(client2, "doorman@example.org")
    html = client2.get("/door/").get_data(as_text=True)
    assert html.index("Tonight") < html.index("Later event")
    assert "Draft" not in html and "Long over" not in html
    assert f'href="/door/{tonight.id}"' in html and f'href="/door/{later.id}"' in html
    # The nav links the door for volunteers.
    assert 'href="/door/"' in html


def test_scanner_page_carries_translated_texts_and_no_personal_data(door):
    config = json.loads(
        re.search(
            r'<script type="application/json" id="door-config">(.*?)</script>', door.html, re.S
        ).group(1)
    )
    assert config["eventId"] == door.event.id
    assert config["texts"]["ok"] == "Welcome, %(name)s"
    assert config["texts"]["already_checked_in"] == "Already checked in at %(time)s by %(name)s"
    assert config["texts"]["unknown"] == "Unknown or forged ticket"
    assert config["urls"]["serviceWorker"] == "/door/sw.js"
    assert "bjarni@example.org" not in door.html
    assert "Bjarni Guest" not in door.html
    # No inline executable script (the CSP forbids it).
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))[^>]*>", door.html)


def test_every_result_state_through_the_door_endpoint(client, door):
    code = door.registration.ticket_code
    ok = scan(client, door, code).get_json()
    assert ok["status"] == "ok" and ok["registration"]["name"] == "Bjarni Guest"
    assert ok["checked_in_by"] == "Anna Door"
    assert ok["counts"] == {"event_id": door.event.id, "confirmed": 1, "checked_in": 1}

    already = scan(client, door, code).get_json()
    assert already["status"] == "already_checked_in"
    assert already["checked_in_by"] == "Anna Door"

    other = make_event("Other")
    elsewhere = make_registration(other)
    cancelled = make_registration(door.event)
    cancelled.state = "cancelled"
    waiting = make_registration(door.event)
    waiting.state = "waiting"
    db.session.commit()
    assert scan(client, door, elsewhere.ticket_code).get_json()["status"] == "wrong_event"
    assert scan(client, door, cancelled.ticket_code).get_json()["status"] == "cancelled"
    assert scan(client, door, waiting.ticket_code).get_json()["status"] == "not_confirmed"
    assert scan(client, door, code[:-3] + "abc").get_json()["status"] == "unknown"
    assert scan(client, door, "https://example.org/whatever").get_json()["status"] == "unknown"

    rows = db.session.scalars(sa.select(Scan).order_by(Scan.id)).all()
    assert [r.result for r in rows] == [
        "ok",
        "already_checked_in",
        "wrong_event",
        "cancelled",
        "not_confirmed",
        "unknown",
        "unknown",
    ]
    assert {(r.source, r.device, r.user_id) for r in rows} == {
        ("door", "door d-test", door.user.id)
    }


def test_door_endpoints_need_the_csrf_header_a_session_and_the_role(client, door, app):
    body = {"code": door.registration.ticket_code, "nonce": "n1"}
    refused = post(client, door, "scan", body, csrf=False)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf"

    anonymous = app.test_client()
    response = anonymous.post(f"/door/{door.event.id}/scan", json=body)
    assert response.status_code in (400, 401)  # no session: no CSRF token, and no login
    assert anonymous.get(f"/door/{door.event.id}/counts").status_code == 401

    plain = app.test_client()
    make_user("plain@example.org")
    db.session.commit()
    login(plain, "plain@example.org")
    assert plain.get(f"/door/{door.event.id}/counts").status_code == 403
    assert plain.get(f"/door/{door.event.id}").status_code == 403
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None


def test_bad_input_is_a_json_error(client, door):
    response = client.post(
        f"/door/{door.event.id}/scan",
        data="{oops",
        content_type="application/json",
        headers={"X-CSRFToken": door.csrf},
    )
    assert response.status_code == 400 and response.is_json
    missing = post(client, door, "scan", {"code": door.registration.ticket_code})
    assert missing.status_code == 422
    assert "nonce" in missing.get_json()["error"]["fields"]
    assert post(client, door, "scan", {"code": "", "nonce": "n"}).status_code == 422
    unknown_event = client.post(
        "/door/987654/scan",
        json={"code": door.registration.ticket_code, "nonce": "n2"},
        headers={"X-CSRFToken": door.csrf},
    )
    assert unknown_event.status_code == 404 and unknown_event.is_json


def test_search_shows_name_and_state_only(client, door):
    make_registration(door.event, make_user(name="Birna Other", email="birna@example.org"))
    db.session.commit()
    by_name = client.get(f"/door/{door.event.id}/search?q=bjarni").get_json()["results"]
    assert [r["name"] for r in by_name] == ["Bjarni Guest"]
    assert set(by_name[0]) == {"id", "name", "state", "checked_in_at", "checked_in_by"}
    # Not by e-mail address: typing part of one must not tell a volunteer whose it is.
    for q in ("birna@exam", "example.org", "birna@"):
        assert client.get(f"/door/{door.event.id}/search?q={q}").get_json()["results"] == []
    assert client.get(f"/door/{door.event.id}/search?q=b").get_json()["results"] == []
    assert client.get(f"/door/{door.event.id}/search?q=%25").get_json()["results"] == []


def test_check_in_by_hand_and_undo(client, door):
    body = {"registration_id": door.registration.id, "nonce": "hand-1", "device": "d-test"}
    first = post(client, door, "checkin", body).get_json()
    assert first["status"] == "ok"
    assert first["counts"]["checked_in"] == 1
    second = post(client, door, "checkin", {**body, "nonce": "hand-2"}).get_json()
    assert second["status"] == "already_checked_in"
    # The retry of the first request gets the first answer.
    assert post(client, door, "checkin", body).get_json()["status"] == "ok"

    undone = post(client, door, "undo", {"registration_id": door.registration.id}).get_json()
    assert undone["status"] == "undone"
    assert undone["counts"]["checked_in"] == 0
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at is None

    other_event = make_event("Other")
    stranger = make_registration(other_event)
    db.session.commit()
    answer = post(
        client, door, "checkin", {"registration_id": stranger.id, "nonce": "hand-3"}
    ).get_json()
    assert answer["status"] == "unknown"
    assert post(client, door, "undo", {"registration_id": stranger.id}).status_code == 404


def test_offline_bundle_has_ticket_ids_names_and_states_only(client, door):
    checked = make_registration(door.event, make_user(name="Checked Person"))
    checked.checked_in_at = utcnow()
    cancelled = make_registration(door.event, make_user(name="Gone Person"))
    cancelled.state = "cancelled"
    db.session.commit()
    response = client.get(f"/door/{door.event.id}/offline.json")
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["public_key"] == door.event.public_key
    tickets = {t["name"]: t for t in data["tickets"]}
    assert tickets["Bjarni Guest"] == {
        "ticket": door.registration.ticket_code.split(".")[1],
        "short": door.registration.short_code,
        "name": "Bjarni Guest",
        "state": "confirmed",
    }
    assert tickets["Checked Person"]["state"] == "checked_in"
    assert tickets["Gone Person"]["state"] == "cancelled"
    text = response.get_data(as_text=True)
    assert door.registration.ticket_code.split(".")[2] not in text  # no signatures
    assert "example.org" not in text


def test_a_queued_offline_scan_keeps_its_time_and_a_conflict_is_logged(client, door, app):
    scanned = (utcnow() - timedelta(minutes=10)).replace(microsecond=0)
    answer = scan(
        client,
        door,
        door.registration.ticket_code,
        offline=True,
        accepted=True,
        scanned_at=scanned.isoformat(),
    ).get_json()
    assert answer["status"] == "ok"
    db.session.refresh(door.registration)
    assert door.registration.checked_in_at == scanned

    # Another ticket: checked in on another device meanwhile, then let in offline here.
    other = make_registration(door.event, make_user(name="Dóra Twice"))
    db.session.commit()
    other_client = app.test_client()
    colleague = make_user(name="Colleague", roles=["door"])
    db.session.commit()
    login(other_client, colleague.email)
    page = other_client.get(f"/door/{door.event.id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    other_client.post(
        f"/door/{door.event.id}/scan",
        json={"code": other.ticket_code, "nonce": "c-1", "device": "d-other"},
        headers={"X-CSRFToken": token},
    )
    late = scan(
        client,
        door,
        other.ticket_code,
        offline=True,
        accepted=True,
        scanned_at=utcnow().isoformat(),
    ).get_json()
    assert late["status"] == "already_checked_in"
    assert late["checked_in_by"] == "Colleague"
    row = db.session.scalar(
        sa.select(Scan).where(Scan.source == "offline", Scan.registration_id == other.id)
    )
    assert row.is_conflict and row.offline_accepted is True
    # A scan the device itself refused offline is logged, but is no conflict.
    refused = scan(client, door, "garbage", offline=True, accepted=False).get_json()
    assert refused["status"] == "unknown"
    assert (
        not db.session.scalars(sa.select(Scan).where(Scan.offline_accepted.is_(False)))
        .one()
        .is_conflict
    )


def test_the_service_worker_is_served_from_door(client):
    response = client.get("/door/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/door/"
    assert "no-cache" in response.headers["Cache-Control"]
    assert "caches.open" in response.get_data(as_text=True)


def test_door_scans_are_rate_limited_per_volunteer_with_a_json_429(client, door, app, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_RATE_LIMIT", "2 per minute")
    statuses = [scan(client, door, "nothing").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = scan(client, door, "nothing")
    assert limited.is_json and limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_search_finds_a_ticket_by_its_short_code_only_at_its_own_event(client, door):
    from app.events.tickets import short_code
    from tests.helpers import login as log_in

    other_event = make_event("Other party")
    elsewhere = make_registration(other_event, make_user(name="Dóra Elsewhere"))
    db.session.commit()
    code = door.registration.short_code
    assert len(code) == 8
    assert code == short_code(door.registration.ticket_code)
    found = client.get(f"/door/{door.event.id}/search", query_string={"q": code}).get_json()
    assert [r["name"] for r in found["results"]] == ["Bjarni Guest"]
    # Another event's ticket is not found here, nor a code that is only similar.
    assert (
        client.get(
            f"/door/{door.event.id}/search", query_string={"q": elsewhere.short_code}
        ).get_json()["results"]
        == []
    )
    wrong = ("A" if code[0] != "A" else "B") + code[1:]
    assert (
        client.get(f"/door/{door.event.id}/search", query_string={"q": wrong}).get_json()["results"]
        == []
    )
    # The ticket page shows the short code to its holder.
    holder = client.application.test_client()
    log_in(holder, "bjarni@example.org")
    page = holder.get(f"/tickets/{door.registration.ticket_code}").get_data(as_text=True)
    assert f'<span class="font-monospace fs-5 ticket-short-code">{code}</span>' in page
