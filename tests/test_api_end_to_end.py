"""An app's whole path over HTTP, without a browser: sign in, find an event, register, and
fetch the ticket and its QR image."""

from __future__ import annotations

import pytest
import requests

from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import PASSWORD, decode_qr

pytestmark = pytest.mark.live


def test_sign_in_register_and_fetch_the_ticket(app, live_server, postgres):
    with app.app_context():
        make_user("app-user@example.org", name="Ása App")
        event = make_event("Meetup over the API", capacity=10)
        db.session.commit()
        event_id = event.id
    api = f"{live_server}/api/v1"
    http = requests.Session()

    signed_in = http.post(
        f"{api}/auth/token",
        json={"email": "app-user@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    assert tokens["access_token"].count(".") == 2 and tokens["refresh_token"]
    http.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    assert http.get(f"{api}/me", timeout=30).json()["email"] == "app-user@example.org"
    listed = http.get(f"{api}/events", params={"q": "meetup"}, timeout=30).json()
    assert [e["id"] for e in listed["results"]] == [event_id]

    registered = http.post(
        f"{api}/events/{event_id}/registration", json={"accept_terms": True}, timeout=30
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["state"] == "confirmed"
    detail = http.get(f"{api}/events/{event_id}", timeout=30).json()
    assert detail["seats_left"] == 9 and detail["my_registration"]["state"] == "confirmed"

    [ticket] = http.get(f"{api}/me/tickets", timeout=30).json()["results"]
    assert ticket["event"]["id"] == event_id
    assert ticket["code"] == registered.json()["ticket_code"]
    image = http.get(ticket["qr_png"], timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert ticket["code"] in decode_qr(image.content)

    # Without the token the same image is refused.
    assert requests.get(ticket["qr_png"], timeout=30).status_code == 401
