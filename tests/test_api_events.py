"""The events API: the list and one event, registering and cancelling, organisers' endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.api.services import create_token
from app.core.timeutil import utcnow
from app.events.models import Event, Registration, RegistrationTerms
from app.extensions import db
from app.members.models import Membership
from tests.factories import make_event, make_registration, make_user


def _key(user) -> dict:
    _token, key = create_token(user, "app")
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def member(ctx):
    user = make_user("member@example.org", name="Anna Member")
    headers = _key(user)
    db.session.commit()
    return user, headers


@pytest.fixture
def organiser(ctx):
    user = make_user("org@example.org", roles=["organiser"])
    headers = _key(user)
    db.session.commit()
    return user, headers


def test_list_shows_published_upcoming_events_paginated(client, member):
    _user, api = member
    for n in range(3):
        make_event(f"Upcoming {n}", days_ahead=n + 1)
    make_event("Draft", status="draft")
    make_event("Over", days_ahead=-3)
    db.session.commit()
    answer = client.get("/api/v1/events?limit=2", headers=api)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["count"] == 3 and [e["title"] for e in body["results"]] == [
        "Upcoming 0",
        "Upcoming 1",
    ]
    assert body["previous"] is None and "offset=2" in body["next"]
    second = client.get(body["next"], headers=api).get_json()
    assert [e["title"] for e in second["results"]] == ["Upcoming 2"] and second["next"] is None
    first = body["results"][0]
    assert first["seats_left"] == 50 and first["availability"] == "open"
    assert first["venue"]["name"] == "Folkets Hus" and first["url"].endswith("/upcoming-0")


def test_list_filters_by_time_and_words(client, member):
    _user, api = member
    make_event("Board games", days_ahead=2)
    make_event("Hackathon", days_ahead=20, city="Aarhus")
    make_event("Last year", days_ahead=-300)
    db.session.commit()
    titles = lambda query: [  # noqa: E731
        e["title"]
        for e in client.get("/api/v1/events", query_string=query, headers=api).get_json()["results"]
    ]
    assert titles({"q": "aarhus"}) == ["Hackathon"]
    assert titles({"q": "100%_"}) == []
    soon = (utcnow() + timedelta(days=10)).isoformat()
    assert titles({"to": soon}) == ["Board games"]
    long_ago = (utcnow() - timedelta(days=400)).isoformat()
    assert titles({"from": long_ago, "to": soon}) == ["Last year", "Board games"]
    bad = client.get("/api/v1/events", query_string={"from": "yesterday", "limit": 0}, headers=api)
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"from", "limit"}
    naive = client.get("/api/v1/events", query_string={"from": "2026-01-01T10:00"}, headers=api)
    assert naive.status_code == 422 and "from" in naive.get_json()["error"]["fields"]


def test_schema_errors_are_in_the_callers_language(client, member):
    _user, api = member
    event = make_event("Danish")
    db.session.commit()
    client.set_cookie("lang", "da")
    answer = client.post(
        f"/api/v1/events/{event.id}/registration",
        json={"accept_terms": 1, "shoe_size": 44},
        headers=api,
    )
    error = answer.get_json()["error"]
    assert answer.status_code == 422 and error["code"] == "invalid"
    assert error["fields"] == {
        "accept_terms": ["Angiv true eller false."],
        "shoe_size": ["Ukendt felt."],
    }
    assert error["message"] in ("Angiv true eller false.", "Ukendt felt.")


def test_the_list_needs_a_token(client, ctx):
    answer = client.get("/api/v1/events")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


def test_register_confirms_then_conflicts_then_cancels(client, member):
    user, api = member
    event = make_event("Meetup", capacity=1)
    db.session.commit()
    url = f"/api/v1/events/{event.id}/registration"
    first = client.post(url, json={"accept_terms": True}, headers=api)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["state"] == "confirmed" and body["position"] is None and body["ticket_code"]
    again = client.post(url, json={}, headers=api)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_registered"
    detail = client.get(f"/api/v1/events/{event.id}", headers=api).get_json()
    assert detail["seats_left"] == 0 and detail["my_registration"]["state"] == "confirmed"
    gone = client.delete(url, headers=api)
    assert gone.status_code == 200 and gone.get_json()["state"] == "cancelled"
    assert client.delete(url, headers=api).status_code == 404
    db.session.expire_all()
    assert db.session.get(Event, event.id).confirmed_count == 0


def test_full_event_puts_people_on_the_waiting_list_with_a_position(client, member):
    _user, api = member
    event = make_event("Small", capacity=1)
    make_registration(event)
    make_registration(event, state="waiting")
    db.session.commit()
    answer = client.post(f"/api/v1/events/{event.id}/registration", json={}, headers=api)
    assert answer.status_code == 201
    assert answer.get_json()["state"] == "waiting" and answer.get_json()["position"] == 2


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"capacity": 1, "waiting_list_enabled": False}, "full"),
        ({"registration_closes_at": utcnow() - timedelta(hours=1)}, "closed"),
        ({"members_only": True}, "members_only"),
        ({"status": "cancelled"}, "cancelled"),
    ],
)
def test_refusals_answer_422_with_the_reason(client, member, values, reason):
    _user, api = member
    event = make_event("Refusing", **values)
    if reason == "full":
        make_registration(event)
    db.session.commit()
    answer = client.post(f"/api/v1/events/{event.id}/registration", json={}, headers=api)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] == reason
    assert db.session.query(Registration).filter_by(event_id=event.id).count() == (
        1 if reason == "full" else 0
    )


def test_terms_must_be_accepted_with_json_true(client, member):
    _user, api = member
    event = make_event("With terms")
    db.session.add(RegistrationTerms(event_id=event.id, version=1, text="Be kind."))
    db.session.commit()
    url = f"/api/v1/events/{event.id}/registration"
    detail = client.get(f"/api/v1/events/{event.id}", headers=api).get_json()
    assert detail["terms"] == "Be kind."
    refused = client.post(url, json={"accept_terms": False}, headers=api)
    assert refused.status_code == 422 and "accept_terms" in refused.get_json()["error"]["fields"]
    text = client.post(url, json={"accept_terms": "yes"}, headers=api)
    assert text.status_code == 422 and "accept_terms" in text.get_json()["error"]["fields"]
    assert client.post(url, data="accept_terms=1", headers=api).status_code == 400
    assert client.post(url, json={"accept_terms": True}, headers=api).status_code == 201


def test_members_only_event_takes_an_active_member(client, member):
    user, api = member
    event = make_event("Members", members_only=True)
    db.session.add(Membership(user_id=user.id, status="active", full_name=user.name))
    db.session.commit()
    answer = client.post(f"/api/v1/events/{event.id}/registration", json={}, headers=api)
    assert answer.status_code == 201


def test_drafts_are_hidden_from_members_and_shown_to_organisers(client, member, organiser):
    event = make_event("Secret", status="draft")
    db.session.commit()
    assert client.get(f"/api/v1/events/{event.id}", headers=member[1]).status_code == 404
    assert client.get(f"/api/v1/events/{event.id}", headers=organiser[1]).status_code == 200
    refused = client.post(f"/api/v1/events/{event.id}/registration", json={}, headers=member[1])
    assert refused.status_code == 404


def test_organiser_creates_changes_and_publishes_an_event(client, organiser, member):
    _user, api = organiser
    starts = utcnow().replace(microsecond=0) + timedelta(days=5)
    created = client.post(
        "/api/v1/events",
        json={
            "title": "Data night",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "venue_name": "Library",
            "capacity": 2,
            "terms": "Photos may be taken.",
        },
        headers=api,
    )
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    assert event["status"] == "draft" and event["terms"] == "Photos may be taken."
    assert event["slug"] == "data-night" and event["seats_left"] == 2
    changed = client.patch(
        f"/api/v1/events/{event['id']}",
        json={"capacity": 3, "status": "published"},
        headers=api,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["status"] == "published" and changed.get_json()["capacity"] == 3
    assert changed.get_json()["title"] == "Data night"
    listed = client.get("/api/v1/events", headers=member[1]).get_json()
    assert [e["title"] for e in listed["results"]] == ["Data night"]


def test_organiser_input_is_validated_and_nothing_is_half_saved(client, organiser):
    _user, api = organiser
    starts = utcnow() + timedelta(days=5)
    bad = client.post(
        "/api/v1/events",
        json={"title": "", "starts_at": "soon", "capacity": "10", "colour": "red"},
        headers=api,
    )
    assert bad.status_code == 422
    assert {"title", "starts_at", "ends_at", "capacity", "colour"} <= set(
        bad.get_json()["error"]["fields"]
    )
    backwards = client.post(
        "/api/v1/events",
        json={
            "title": "Backwards",
            "starts_at": starts.isoformat(),
            "ends_at": (starts - timedelta(hours=1)).isoformat(),
            "venue_name": "Here",
        },
        headers=api,
    )
    assert backwards.status_code == 422 and "ends_at" in backwards.get_json()["error"]["fields"]
    event = make_event("Kept")
    db.session.commit()
    refused = client.patch(
        f"/api/v1/events/{event.id}",
        json={"title": "Changed", "online_url": "ftp://x"},
        headers=api,
    )
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Kept"
    assert db.session.query(Event).count() == 1


def test_members_cannot_use_the_organisers_endpoints(client, member):
    _user, api = member
    event = make_event("Guarded")
    db.session.commit()
    assert client.post("/api/v1/events", json={}, headers=api).status_code == 403
    assert client.patch(f"/api/v1/events/{event.id}", json={}, headers=api).status_code == 403
    listing = client.get(f"/api/v1/events/{event.id}/registrations", headers=api)
    assert listing.status_code == 403 and listing.get_json()["error"]["code"] == "forbidden"


def test_organiser_lists_registrations_by_state(client, organiser):
    _user, api = organiser
    event = make_event("Listed", capacity=1)
    make_registration(event)
    make_registration(event, state="waiting")
    make_registration(event, state="cancelled")
    db.session.commit()
    url = f"/api/v1/events/{event.id}/registrations"
    everyone = client.get(url, headers=api).get_json()
    assert everyone["count"] == 3
    waiting = client.get(url, query_string={"state": "waiting"}, headers=api).get_json()
    assert [r["state"] for r in waiting["results"]] == ["waiting"]
    bad = client.get(url, query_string={"state": "lost"}, headers=api)
    assert bad.status_code == 422 and "state" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/events/99999/registrations", headers=api).status_code == 404
