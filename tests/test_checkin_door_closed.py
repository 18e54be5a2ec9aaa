"""The door does not scan for drafts, cancelled events or events over for more than a day."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from app.api.services import create_token
from app.core.timeutil import utcnow
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login

CLOSED = {
    "draft": ({"status": "draft"}, "This event is not published"),
    "cancelled": ({"status": "cancelled"}, "This event is cancelled"),
    "long_over": ({"days_ahead": -2}, "This event ended more than a day ago"),
}


@pytest.fixture
def volunteer(ctx, client):
    """A door volunteer signed in, with the CSRF token of an open event's scanner page, and an
    API token."""
    user = make_user(name="Anna Door", roles=["door"], email="anna@example.org")
    _token, key = create_token(user, "scanner")
    open_event = make_event("Open tonight", days_ahead=0)
    db.session.commit()
    login(client, user.email)
    html = client.get(f"/door/{open_event.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return {"csrf": csrf, "key": key}


def _event_with_ticket(**fields):
    event = make_event("Closed door", **fields)
    registration = make_registration(event, make_user(name="Bjarni Guest"))
    db.session.commit()
    return event, registration


@pytest.mark.parametrize("kind", sorted(CLOSED))
def test_the_door_is_closed_for_the_event(client, volunteer, kind):
    fields, message = CLOSED[kind]
    event, registration = _event_with_ticket(**fields)
    headers = {"X-CSRFToken": volunteer["csrf"]}

    page = client.get(f"/door/{event.id}", follow_redirects=True)
    assert page.request.path == "/door/"
    assert message in page.get_data(as_text=True)

    answers = [
        client.post(
            f"/door/{event.id}/scan",
            json={"code": registration.ticket_code, "nonce": uuid.uuid4().hex},
            headers=headers,
        ),
        client.post(
            f"/door/{event.id}/checkin",
            json={"registration_id": registration.id, "nonce": uuid.uuid4().hex},
            headers=headers,
        ),
        client.get(f"/door/{event.id}/search?q=bjarni"),
        client.get(f"/door/{event.id}/offline.json"),
        client.post(
            "/api/v1/checkin",
            json={"code": registration.ticket_code, "event_id": event.id, "nonce": "n-1"},
            headers={"Authorization": f"Token {volunteer['key']}"},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.request.path
        error = answer.get_json()["error"]
        assert error["code"] == "door_closed" and message in error["message"]
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is None


def test_the_door_still_scans_the_day_after(client, volunteer):
    event, registration = _event_with_ticket(days_ahead=0)
    event.starts_at = utcnow() - timedelta(hours=20)
    event.ends_at = utcnow() - timedelta(hours=18)  # over, but less than a day ago
    db.session.commit()
    assert client.get(f"/door/{event.id}").status_code == 200
    answer = client.post(
        "/api/v1/checkin",
        json={"code": registration.ticket_code, "event_id": event.id, "nonce": "late-1"},
        headers={"Authorization": f"Token {volunteer['key']}"},
    )
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"
