"""Personal pages and files carry Cache-Control: no-store; public pages and files stay cacheable."""

import pytest

from app.api.services import create_token
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login, post_form
from tests.members_helpers import kennitala, make_member


@pytest.fixture
def people(ctx):
    from datetime import date

    staff = make_user("staff@example.org", roles=["admin"])
    member_user = make_user("member@example.org")
    membership = make_member(member_user, national_id=kennitala(date(1990, 5, 17)))
    event = make_event()
    make_registration(event, member_user)
    _token, key = create_token(staff, "sync")
    db.session.commit()
    return {"membership": membership, "event": event, "key": key}


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/account", "/members/me", "/account/data.json", "/tickets/"])
def test_my_pages_and_my_data_export_are_not_stored(client, people, path):
    login(client, "member@example.org")
    response = client.get(path)
    assert response.status_code == 200, path
    assert _no_store(response), path


def test_staff_member_pages_exports_and_the_national_id_reveal_are_not_stored(client, people):
    login(client, "staff@example.org")
    member_id, event_id = people["membership"].id, people["event"].id
    for path in [
        "/staff/members/",
        f"/staff/members/{member_id}",
        "/staff/members/export.csv",
        f"/staff/events/{event_id}/registrations.csv",
    ]:
        response = client.get(path, buffered=True)  # the exports are streamed
        assert response.status_code == 200, path
        assert _no_store(response), path
    revealed = post_form(
        client, f"/staff/members/{member_id}/reveal", {}, f"/staff/members/{member_id}"
    )
    assert revealed.status_code == 200
    assert _no_store(revealed)


def test_every_member_api_answer_is_not_stored(client, people):
    headers = {"Authorization": f"Token {people['key']}"}
    member_id = people["membership"].id
    answers = [
        client.get("/api/v1/members", headers=headers),
        client.get(f"/api/v1/members/{member_id}", headers=headers),
        client.get("/api/v1/members/2147483000", headers=headers),
        client.get("/api/v1/members"),
        client.patch(f"/api/v1/members/{member_id}", json={"status": "x"}, headers=headers),
    ]
    assert [r.status_code for r in answers][:4] == [200, 200, 404, 401]
    assert all(_no_store(r) for r in answers)


def test_public_pages_and_files_for_visitors_stay_cacheable(client, people):
    assert not _no_store(client.get("/"))
    assert not _no_store(client.get("/events/"))
    assert not _no_store(client.get("/static/js/app.js"))


def test_every_page_for_a_signed_in_person_is_not_stored_but_static_files_are(client, people):
    login(client, "member@example.org")
    assert _no_store(client.get("/"))
    assert _no_store(client.get("/events/"))
    assert not _no_store(client.get("/static/js/app.js"))
