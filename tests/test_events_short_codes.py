"""Short ticket codes: 8 characters without look-alikes, unique per event, printed on the ticket
and in its e-mail, accepted by the door and the check-in API, carried in the offline list; a
ticket of another event is named; a cancelled ticket offers nothing; online events' links."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.api.services import create_token
from app.core.timeutil import utcnow
from app.events import registration_rows
from app.events import registrations as registration_service
from app.events.models import Registration
from app.events.tickets import (
    SHORT_CODE_ALPHABET,
    clean_short_code,
    make_code,
    short_code,
)
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import body_text, login, post_form, run_jobs


def test_the_alphabet_has_no_look_alikes_and_codes_use_only_it(ctx):
    assert not set("0O1IL") & set(SHORT_CODE_ALPHABET)
    event = make_event("Alphabet")
    codes = {short_code(make_code(event.id, event.signing_key_encrypted)) for _ in range(300)}
    assert len(codes) == 300
    assert all(re.fullmatch(f"[{SHORT_CODE_ALPHABET}]{{8}}", c) for c in codes)
    letters = set("".join(codes))
    assert len(letters) > 25  # the whole alphabet is used, not a corner of it
    assert clean_short_code(" abcd-efgh ") == "ABCDEFGH"
    assert clean_short_code("ABCD0EFG") is None and clean_short_code("ABCDEFG") is None


def test_a_confirmed_registration_gets_its_short_code(ctx):
    event = make_event("Stored")
    registration = make_registration(event)
    db.session.commit()
    stored = db.session.scalar(
        sa.select(Registration.short_code).where(Registration.id == registration.id)
    )
    assert stored == short_code(registration.ticket_code) and len(stored) == 8


def test_short_codes_are_unique_per_event_in_the_database(ctx):
    first, second = make_event("One"), make_event("Two")
    a = make_registration(first)
    elsewhere = make_registration(second)
    elsewhere.short_code = a.short_code  # the same code at another event is fine
    db.session.flush()
    b = make_registration(first)
    savepoint = db.session.begin_nested()
    b.short_code = a.short_code
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_a_taken_short_code_is_skipped_when_a_ticket_is_issued(ctx, monkeypatch):
    event = make_event("Crowded", capacity=10)
    first = make_registration(event)
    db.session.commit()
    taken = first.short_code
    real = short_code
    # The next ticket's first candidate is the taken code; the next attempt is free.
    monkeypatch.setattr(
        registration_rows,
        "short_code",
        lambda code, attempt=0: taken if attempt == 0 else real(code, attempt),
    )
    user = make_user()
    registration = registration_service.register(event.id, user, accepted_terms=True)
    db.session.flush()
    assert registration.state == "confirmed"
    assert registration.short_code != taken
    assert registration.short_code == real(registration.ticket_code, 1)


def test_a_taken_short_code_is_skipped_when_a_promoted_person_gets_a_ticket(ctx, monkeypatch):
    event = make_event("Full", capacity=1)
    first = make_registration(event)
    waiting = make_registration(event, state="waiting")
    db.session.commit()
    taken = first.short_code
    real = short_code
    monkeypatch.setattr(
        registration_service,
        "short_code",
        lambda code, attempt=0: taken if attempt == 0 else real(code, attempt),
    )
    registration_service.cancel_registration(first.id)
    db.session.flush()
    db.session.refresh(waiting)
    assert waiting.state == "confirmed"
    assert waiting.short_code == real(waiting.ticket_code, 1) != taken


@pytest.fixture
def door(ctx, client):
    volunteer = make_user(name="Anna Door", email="anna@example.org", roles=["door"])
    _token, key = create_token(volunteer, "scanner")
    event = make_event("Vinterfest")
    other = make_event("Sommerfest")
    guest = make_registration(event, make_user(name="Bjarni Guest", email="bjarni@example.org"))
    stranger = make_registration(other, make_user(name="Dóra Other"))
    db.session.commit()
    login(client, volunteer.email)
    html = client.get(f"/door/{event.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return type(
        "Door",
        (),
        {
            "event": event,
            "other": other,
            "guest": guest,
            "stranger": stranger,
            "key": key,
            "csrf": csrf,
        },
    )


def _api(client, door, code: str) -> dict:
    body = {"code": code, "event_id": door.event.id, "nonce": uuid.uuid4().hex}
    response = client.post(
        "/api/v1/checkin", json=body, headers={"Authorization": f"Token {door.key}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _door(client, door, code: str) -> dict:
    body = {"code": code, "nonce": uuid.uuid4().hex, "device": "test"}
    response = client.post(
        f"/door/{door.event.id}/scan", json=body, headers={"X-CSRFToken": door.csrf}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_door_accepts_a_typed_short_code(client, door):
    typed = door.guest.short_code.lower()[:4] + " " + door.guest.short_code.lower()[4:]
    first = _door(client, door, typed)
    assert first["status"] == "ok" and first["registration"]["name"] == "Bjarni Guest"
    assert _door(client, door, door.guest.short_code)["status"] == "already_checked_in"
    # Another event's short code is not a ticket here.
    assert _door(client, door, door.stranger.short_code)["status"] == "unknown"


def test_the_api_accepts_the_short_code_and_names_another_events_ticket(app, door):
    api = app.test_client()
    assert _api(api, door, door.guest.short_code)["status"] == "ok"
    assert _api(api, door, door.guest.ticket_code)["status"] == "already_checked_in"
    wrong = _api(api, door, door.stranger.ticket_code)
    assert wrong["status"] == "wrong_event"
    assert wrong["event"] == {"title": "Sommerfest"}
    assert _api(api, door, "ZZZZZZZZ")["status"] == "unknown"


def test_the_door_names_the_event_of_a_ticket_for_another_event(client, door):
    answer = _door(client, door, door.stranger.ticket_code)
    assert answer["status"] == "wrong_event" and answer["event"]["title"] == "Sommerfest"
    page = client.get(f"/door/{door.event.id}").get_data(as_text=True)
    assert "This ticket is for %(event)s." in page  # the script's text, filled in by door.js


def test_the_offline_list_carries_each_tickets_short_code(client, door):
    data = client.get(f"/door/{door.event.id}/offline.json").get_json()
    (ticket,) = data["tickets"]
    assert ticket["short"] == door.guest.short_code
    assert ticket["ticket"] == door.guest.ticket_code.split(".")[1]
    assert door.stranger.short_code not in {t["short"] for t in data["tickets"]}


def test_the_door_list_shows_todays_events_first_and_marks_the_rest(client, ctx):
    make_user("doorman@example.org", roles=["door"])
    make_event("Next week", days_ahead=7)
    make_event("Tonight", days_ahead=0)
    db.session.commit()
    login(client, "doorman@example.org")
    html = client.get("/door/").get_data(as_text=True)
    today = html.split('id="door-today"', 1)[1].split('id="door-later"', 1)
    assert "Tonight" in today[0] and "Next week" not in today[0]
    later = today[1].split("</a>", 1)[0]
    assert "Next week" in later and "Not today" in later


def test_the_ticket_page_and_mail_print_the_short_code(app, client, ctx, mailbox):
    event = make_event("Koncert", capacity=5)
    make_user("holder@example.org")
    db.session.commit()
    login(client, "holder@example.org")
    page = f"/events/{event.id}/{event.slug}"
    post_form(client, f"/events/{event.id}/register", {"accept_terms": "y"}, page_url=page)
    run_jobs(app)
    registration = db.session.scalar(sa.select(Registration).filter_by(event_id=event.id))
    html = client.get(f"/tickets/{registration.ticket_code}").get_data(as_text=True)
    assert registration.short_code in html
    (mail,) = mailbox.to("holder@example.org")
    assert registration.short_code in body_text(mail)


def test_a_cancelled_ticket_says_so_and_offers_nothing_else(client, ctx):
    event = make_event("Aflyst")
    user = make_user("gone@example.org")
    registration = make_registration(event, user)
    registration.state = "cancelled"
    registration.cancelled_at = utcnow()
    db.session.commit()
    login(client, "gone@example.org")
    html = client.get(f"/tickets/{registration.ticket_code}").get_data(as_text=True)
    assert 'id="ticket-cancelled"' in html
    assert "ticket-qr" not in html and registration.short_code not in html
    assert "Show this code at the door" not in html and ".ics" not in html
    assert f"/events/{event.id}/event.ics" not in html


def test_an_online_events_link_is_for_confirmed_people_and_its_place_reads_online(client, ctx):
    event = make_event("Webinar", capacity=5)
    event.venue_name = event.street = event.city = event.postal_code = event.country = ""
    event.online_url = "https://meet.example.org/secret-room"
    holder = make_user("holder@example.org")
    registration = make_registration(event, holder)
    db.session.commit()
    public = client.get(f"/events/{event.id}/{event.slug}").get_data(as_text=True)
    assert "secret-room" not in public and "Online" in public
    ics = client.get(f"/events/{event.id}/event.ics").get_data(as_text=True)
    assert "secret-room" not in ics and "LOCATION:Online" in ics
    login(client, "holder@example.org")
    assert "secret-room" in client.get(f"/events/{event.id}/{event.slug}").get_data(as_text=True)
    ticket = client.get(f"/tickets/{registration.ticket_code}").get_data(as_text=True)
    assert 'id="ticket-online-link"' in ticket and "secret-room" in ticket


def test_events_over_days_keep_their_place_in_the_door_list(client, ctx):
    """An event that started yesterday and still runs is today's."""
    make_user("door2@example.org", roles=["door"])
    event = make_event("Festival", days_ahead=0)
    event.starts_at = utcnow() - timedelta(days=1)
    event.ends_at = utcnow() + timedelta(days=1)
    db.session.commit()
    login(client, "door2@example.org")
    html = client.get("/door/").get_data(as_text=True)
    assert "Festival" in html.split('id="door-today"', 1)[1].split('id="door-later"', 1)[0]
