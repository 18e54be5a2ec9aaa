"""The registration rush through the API, on PostgreSQL: the same guards as the web pages."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import true

from app.api.services import create_token
from app.auth.models import User
from app.events import registrations
from app.extensions import db
from tests.factories import make_event
from tests.test_events_concurrency import all_at_once, make_people, seat_state

pytestmark = pytest.mark.live


def api_rush(app, live_server, seats: int, people: int, waiting_list: bool = True):
    """people POST /api/v1/events/<id>/registration at the same moment, each with a token."""
    with app.app_context():
        event = make_event("API rush", capacity=seats, waiting_list_enabled=waiting_list)
        ids = make_people(people, "apirush")
        keys = [create_token(db.session.get(User, uid), "app")[1] for uid in ids]
        db.session.commit()
        event_id = event.id
    url = f"{live_server}/api/v1/events/{event_id}/registration"

    def call(key):
        http = requests.Session()
        http.headers["Authorization"] = f"Token {key}"
        return lambda: http.post(url, json={"accept_terms": True}, timeout=60)

    responses = all_at_once([call(key) for key in keys])
    return responses, seat_state(app, event_id)


def test_api_rush_confirms_exactly_the_seats_and_queues_the_rest(app, live_server, postgres):
    responses, state = api_rush(app, live_server, seats=6, people=18)
    assert [r.status_code for r in responses] == [201] * 18
    states = sorted(r.json()["state"] for r in responses)
    assert states == ["confirmed"] * 6 + ["waiting"] * 12
    # Once all have committed, each waiting person has a place of their own in the queue.
    positions = sorted(
        requests.get(
            r.url.removesuffix("/registration"),
            headers={"Authorization": r.request.headers["Authorization"]},
            timeout=30,
        ).json()["my_registration"]["position"]
        for r in responses
        if r.json()["state"] == "waiting"
    )
    assert positions == list(range(1, 13))
    assert state["confirmed"] == 6 and state["counter"] == 6 and state["waiting"] == 12


def test_api_rush_without_a_waiting_list_refuses_the_rest_with_422(app, live_server, postgres):
    responses, state = api_rush(app, live_server, seats=4, people=12, waiting_list=False)
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 4 and statuses.count(422) == 8
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 422} == {"full"}
    assert state["confirmed"] == 4 and state["counter"] == 4 and state["waiting"] == 0


def test_api_rush_without_the_seat_guard_goes_wrong(app, live_server, postgres, monkeypatch):
    """Without the conditional UPDATE's condition the rush runs into the check constraint:
    the assertions above would fail."""
    monkeypatch.setattr(registrations, "_seat_condition", lambda: true())
    responses, state = api_rush(app, live_server, seats=3, people=9)
    statuses = [r.status_code for r in responses]
    assert statuses.count(500) == 6 and state["confirmed"] == 3
