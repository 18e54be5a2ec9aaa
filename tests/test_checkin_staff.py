"""Organisers: the scan log per event, check-in and undo by hand in the staff area."""

from __future__ import annotations

import sqlalchemy as sa

from app.checkin.models import Scan
from app.checkin.redeem import Scanner, redeem
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login, post_form


def test_organiser_sees_the_scan_log_and_checks_in_and_undoes_by_hand(client, ctx):
    organiser = make_user("org@example.org", name="Olga Organiser", roles=["organiser"])
    volunteer = make_user(name="Anna Door", roles=["door"])
    event = make_event("Spring party")
    guest = make_registration(event, make_user(name="Bjarni Guest", email="bjarni@example.org"))
    walk_in = make_registration(event, make_user(name="Walk In", email="walkin@example.org"))
    scanner = Scanner(volunteer.id, volunteer.name, "door d-1", "door")
    redeem(event.id, guest.ticket_code, "nonce-abc", scanner)
    redeem(event.id, guest.ticket_code, "nonce-def", scanner)
    redeem(event.id, "forged", "nonce-ghi", scanner)
    offline = Scanner(volunteer.id, volunteer.name, "door d-2", "offline")
    redeem(event.id, guest.ticket_code, "nonce-jkl", offline, offline_accepted=True)
    db.session.commit()

    login(client, "org@example.org")
    html = client.get(f"/staff/events/{event.id}/door").get_data(as_text=True)
    assert "nonce-abc" not in html  # the log reads as sentences: no raw nonces
    for text in (
        "Checked in",
        "Already checked in",
        "Unknown or forged ticket",
        "Anna Door",
        "door d-1",
        "Conflict",
        "1 of 2 confirmed are checked in",
    ):
        assert text in html, text
    assert "table-warning" in html  # the offline conflict stands out

    listing = client.get("/staff/door/").get_data(as_text=True)
    assert "Spring party" in listing and f"/staff/events/{event.id}/door" in listing

    page_url = f"/staff/events/{event.id}/door?q=walk"
    assert "walkin@example.org" in client.get(page_url).get_data(as_text=True)
    response = post_form(
        client,
        f"/staff/events/{event.id}/door/checkin",
        {"registration_id": walk_in.id, "q": "walk"},
        page_url=page_url,
        follow_redirects=True,
    )
    assert "Walk In is checked in." in response.get_data(as_text=True)
    db.session.refresh(walk_in)
    assert walk_in.checked_in_by_id == organiser.id

    response = post_form(
        client,
        f"/staff/events/{event.id}/door/undo",
        {"registration_id": walk_in.id, "q": "walk"},
        page_url=page_url,
        follow_redirects=True,
    )
    assert "The check-in of Walk In is undone." in response.get_data(as_text=True)
    db.session.refresh(walk_in)
    assert walk_in.checked_in_at is None
    sources = db.session.scalars(
        sa.select(Scan.source).where(Scan.registration_id == walk_in.id).order_by(Scan.id)
    ).all()
    assert sources == ["staff", "staff"]


def test_staff_door_pages_need_the_organiser_role(client, ctx):
    event = make_event()
    make_user("door@example.org", roles=["door"])
    db.session.commit()
    assert client.get(f"/staff/events/{event.id}/door").status_code == 302
    login(client, "door@example.org")
    assert client.get(f"/staff/events/{event.id}/door").status_code == 403
    assert client.get("/staff/door/").status_code == 403
