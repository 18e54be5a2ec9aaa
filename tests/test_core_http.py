"""The shared HTTP helpers: absolute links on BASE_URL, and whole-number ids read from JSON."""

from __future__ import annotations

import pytest

from app.api.services import create_token
from app.core.http import absolute_url
from app.extensions import db
from tests.factories import make_event, make_user


def test_absolute_url_is_the_same_from_a_request_and_a_job(app):
    with app.app_context():
        in_a_job = absolute_url("events.detail", event_id=7, slug="fundur")
    with app.test_request_context("/", base_url="http://someone-elses-host.example"):
        in_a_request = absolute_url("events.detail", event_id=7, slug="fundur")
    assert in_a_job == in_a_request == app.config["BASE_URL"].rstrip("/") + "/events/7/fundur"


def test_absolute_url_does_not_double_a_slash_and_keeps_extra_values(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://felag.example.org/")
    with app.app_context():
        link = absolute_url("events.index", page=2)
    assert link == "https://felag.example.org/events/?page=2"


@pytest.mark.parametrize("value", [True, "12", 1.5, None, 0, -3, 2**31, 10**30])
def test_api_undo_refuses_an_id_that_is_not_a_whole_number_an_id_can_be(client, ctx, value):
    user = make_user(roles=["door"])
    _token, key = create_token(user, "scanner")
    make_event()
    db.session.commit()
    response = client.post(
        "/api/v1/checkin/undo",
        json={"registration_id": value},
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code in (400, 422)
    fields = response.get_json()["error"]["fields"]
    assert list(fields) == ["registration_id"] and fields["registration_id"]  # named, with why


def test_door_undo_refuses_a_huge_id_with_the_field_named(client, ctx):
    from tests.helpers import csrf_from, login

    make_user("vol@example.org", roles=["door"])
    event = make_event()
    db.session.commit()
    login(client, "vol@example.org")
    token = csrf_from(client.get(f"/door/{event.id}").get_data(as_text=True))
    response = client.post(
        f"/door/{event.id}/undo",
        json={"registration_id": 2**40},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code in (400, 422)
    assert "registration_id" in response.get_json()["error"]["fields"]
