"""Deleting my account (people without a membership): future registrations are cancelled the
normal way, so the waiting list moves up; the person is forgotten as in a member's erasure."""

import pytest
from sqlalchemy import select

from app.api.services import create_token
from app.auth.models import SignInSession, User
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import PASSWORD, login, post_form
from tests.members_helpers import make_member


@pytest.fixture
def person(ctx):
    user = make_user("leaving@example.org", name="Leaving Person")
    db.session.commit()
    return user


def _delete(client, password=PASSWORD, confirm="y"):
    data = {"password": password}
    if confirm:
        data["confirm"] = confirm
    return post_form(client, "/account/security/delete", data)


def test_deleting_my_account_frees_my_seat_for_the_waiting_list(app, client, person):
    event = make_event("Full evening", capacity=1)
    mine = make_registration(event, person, state="confirmed")
    waiting = make_registration(event, make_user("next@example.org"), state="waiting")
    _token, key = create_token(person, "phone")
    db.session.commit()
    login(client, "leaving@example.org")
    response = _delete(client)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, mine.id).state == "cancelled"
    assert db.session.get(Registration, waiting.id).state == "confirmed"  # moved up
    user = db.session.get(User, person.id)
    assert not user.is_active and user.email != "leaving@example.org"
    assert user.name == "Deleted account"
    assert db.session.scalars(select(SignInSession)).all() == []
    assert client.get("/account").status_code == 302
    assert login(app.test_client(), "leaving@example.org").status_code == 200  # refused
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert api.status_code == 401


def test_deletion_needs_the_password_and_the_tick(app, client, person):
    login(client, "leaving@example.org")
    wrong = _delete(client, "not my password")
    assert wrong.status_code == 422 and "password is wrong" in wrong.get_data(as_text=True)
    unticked = _delete(client, confirm=None)
    assert unticked.status_code == 422 and "Tick the box" in unticked.get_data(as_text=True)
    db.session.refresh(person)
    assert person.is_active and person.email == "leaving@example.org"


def test_members_use_the_erasure_request_instead(app, client, ctx):
    membership = make_member(make_user("member-leaving@example.org"))
    db.session.commit()
    login(client, "member-leaving@example.org")
    page = client.get("/account/security/delete").get_data(as_text=True)
    assert "data-delete-blocked" in page and "erasure" in page
    refused = _delete(client)
    assert refused.status_code == 200
    db.session.refresh(membership.user)
    assert membership.user.is_active


def test_staff_accounts_are_closed_by_an_administrator(app, client, ctx):
    make_user("staff-leaving@example.org", roles=["organiser"])
    db.session.commit()
    login(client, "staff-leaving@example.org")
    assert "data-delete-blocked" in client.get("/account/security/delete").get_data(as_text=True)
    _delete(client)
    assert client.get("/account").status_code == 200
