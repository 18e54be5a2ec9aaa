"""The caller's own account over the API: profile, registrations, tickets, membership, data."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.api.services import create_token
from app.auth.models import User
from app.extensions import db
from app.members.models import Membership
from tests.factories import make_event, make_registration, make_user
from tests.helpers import decode_qr


@pytest.fixture
def me(ctx):
    user = make_user("me@example.org", name="Sigrún Test")
    _token, key = create_token(user, "phone")
    db.session.commit()
    return user, {"Authorization": f"Token {key}"}


def test_me_and_changing_my_name_and_language(client, me):
    user, api = me
    body = client.get("/api/v1/me", headers=api).get_json()
    assert body == {
        "id": user.id,
        "name": "Sigrún Test",
        "email": "me@example.org",
        "language": "en",
        "email_verified": True,
        "roles": [],
    }
    changed = client.patch("/api/v1/me", json={"name": " Sigrún  ", "language": "is"}, headers=api)
    assert changed.status_code == 200 and changed.get_json()["language"] == "is"
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert (fresh.name, fresh.locale) == ("Sigrún", "is")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "de"}, "language"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"email": "new@example.org"}, "email"),
        ({"name": None}, "name"),
    ],
)
def test_me_patch_refuses_bad_values_and_changes_nothing(client, me, body, field):
    user, api = me
    answer = client.patch("/api/v1/me", json=body, headers=api)
    assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert (fresh.name, fresh.locale, fresh.email) == ("Sigrún Test", "en", "me@example.org")


def test_my_registrations_and_tickets_with_the_qr_image(client, me):
    user, api = me
    soon = make_event("Soon", days_ahead=2)
    later = make_event("Later", days_ahead=9, capacity=1)
    make_registration(later)
    mine = make_registration(soon, user)
    make_registration(later, user, state="waiting")
    make_registration(make_event("Someone else's"))
    db.session.commit()
    listed = client.get("/api/v1/me/registrations", headers=api).get_json()
    assert listed["count"] == 2
    assert [(r["event"]["title"], r["state"], r["position"]) for r in listed["results"]] == [
        ("Later", "waiting", 1),
        ("Soon", "confirmed", None),
    ]
    only = client.get("/api/v1/me/registrations?state=waiting", headers=api).get_json()
    assert only["count"] == 1
    tickets = client.get("/api/v1/me/tickets", headers=api).get_json()
    [ticket] = tickets["results"]
    assert ticket["code"] == mine.ticket_code and ticket["event"]["title"] == "Soon"
    assert ticket["qr_png"].startswith("http") and ticket["short_code"] == mine.short_code
    png = client.get(urlsplit(ticket["qr_png"]).path, headers=api)
    assert png.status_code == 200 and png.content_type == "image/png"
    assert mine.ticket_code in decode_qr(png.data)


def test_someone_elses_ticket_image_is_not_found(client, me):
    _user, api = me
    theirs = make_registration(make_event("Theirs"))
    db.session.commit()
    answer = client.get(f"/api/v1/me/tickets/{theirs.ticket_code}.png", headers=api)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_my_membership(client, me):
    user, api = me
    none = client.get("/api/v1/me/membership", headers=api)
    assert none.status_code == 404
    db.session.add(Membership(user_id=user.id, status="active", full_name="Sigrún Test"))
    db.session.commit()
    body = client.get("/api/v1/me/membership", headers=api).get_json()
    assert body["status"] == "active" and body["groups"] == []


def test_my_data_is_the_account_export(client, me):
    user, api = me
    make_registration(make_event("Exported"), user)
    db.session.commit()
    data = client.get("/api/v1/me/data", headers=api).get_json()
    assert data["account"]["email"] == "me@example.org"
    assert data["api_tokens"][0]["name"] == "phone"
    assert "Exported" in str(data)


def test_me_endpoints_need_a_token(client, ctx):
    for path in ("/api/v1/me", "/api/v1/me/tickets", "/api/v1/me/data", "/api/v1/me/membership"):
        assert client.get(path).status_code == 401, path
