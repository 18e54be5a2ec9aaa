"""Registering, the waiting list, unregistering and promotion, the ticket e-mail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.timeutil import utcnow
from app.events import eligibility, registrations, roster
from app.events.models import Registration, RegistrationTerms
from app.events.tickets import parse_code, verify
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import decode_qr, html_part, login, post_form, subject
from tests.members_helpers import make_member


def _event_url(event):
    return f"/events/{event.id}/{event.slug}"


def _register(client, event, accept=True):
    data = {"accept_terms": "y"} if accept else {}
    return post_form(
        client,
        f"/events/{event.id}/register",
        data,
        page_url=_event_url(event),
        follow_redirects=True,
    )


def _qr_attachment(message):
    for part in message.walk():
        if part.get_content_type() == "image/png":
            return part
    raise AssertionError("no PNG in the e-mail")


def test_register_confirms_and_mails_a_ticket_with_a_readable_qr(client, ctx, mailbox, run_jobs):
    event = make_event("Aðalfundur", capacity=2)
    db.session.add(RegistrationTerms(event_id=event.id, version=1, text="Bring your own cup."))
    user = make_user(email="anna@example.org", name="Anna Jónsdóttir", locale="is")
    db.session.commit()
    login(client, user.email)

    _register(client, event)
    registration = db.session.scalar(db.select(Registration).filter_by(user_id=user.id))
    assert registration.state == "confirmed"
    assert registration.terms.version == 1 and registration.terms_accepted_at is not None
    assert verify(parse_code(registration.ticket_code), event.public_key)
    db.session.refresh(event)
    assert event.confirmed_count == 1

    run_jobs()
    [message] = mailbox.to("anna@example.org")
    db.session.refresh(registration)
    assert registration.ticket_qr_key and registration.ticket_mailed_at
    # In the recipient's language (Icelandic: the page language and Babel's date words), with
    # the QR inline and a calendar file attached.
    assert "Aðalfundur" in subject(message)
    html = html_part(message)
    assert '<html lang="is">' in html
    from babel.dates import format_date

    from app.core.timeutil import organisation_tz

    # The weekday where the organisation is (between 23 and 24 UTC it is tomorrow in Denmark).
    starts = event.starts_at.astimezone(organisation_tz())
    assert format_date(starts, "full", locale="is").split()[0] in html
    qr = _qr_attachment(message)
    assert qr["Content-ID"] == "<qr>"
    assert decode_qr(qr.get_payload(decode=True)).endswith("/t/" + registration.ticket_code)
    ics = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert ics and b"SUMMARY:A\xc3\xb0alfundur" in ics[0].get_payload(decode=True)


def test_terms_must_be_accepted(client, ctx):
    event = make_event(capacity=5)
    db.session.add(RegistrationTerms(event_id=event.id, version=1, text="No refunds."))
    user = make_user()
    db.session.commit()
    login(client, user.email)
    page = _register(client, event, accept=False).get_data(as_text=True)
    assert "Accept the registration terms" in page
    assert db.session.scalar(db.select(Registration).filter_by(user_id=user.id)) is None


def test_full_event_puts_people_on_the_waiting_list_with_a_position(client, ctx):
    event = make_event(capacity=1)
    make_registration(event)
    first, second = make_user(), make_user()
    db.session.commit()
    for n, user in enumerate((first, second), start=1):
        c = client.application.test_client()
        login(c, user.email)
        page = _register(c, event).get_data(as_text=True)
        assert f"You are number {n} on the waiting list" in page
    states = db.session.scalars(
        db.select(Registration.state).where(Registration.event_id == event.id)
    ).all()
    assert sorted(states) == ["confirmed", "waiting", "waiting"]


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_registration_without_its_csrf_token_is_refused_and_writes_nothing(client, ctx, token):
    event = make_event(capacity=5)
    user = make_user()
    db.session.commit()
    login(client, user.email)
    data = {"accept_terms": "y", **({"csrf_token": token} if token else {})}
    assert client.post(f"/events/{event.id}/register", data=data).status_code == 400
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_the_loaded_event_shows_the_seat_just_taken(ctx):
    event = make_event(capacity=5)
    db.session.commit()
    assert event.confirmed_count == 0  # loaded in this session
    registrations.register(event.id, make_user(), True)
    assert event.confirmed_count == 1  # expired by the seat's UPDATE, read again


def test_a_row_written_confirmed_whose_seat_went_meanwhile_waits_without_a_ticket(ctx, monkeypatch):
    """The row is written confirmed when a seat looks free; when another registration takes
    that seat first, it goes on the waiting list: no ticket code, no ticket job."""
    from app.core.jobs import Job

    event = make_event(capacity=1)
    user = make_user()
    db.session.commit()
    monkeypatch.setattr(registrations, "take_seat", lambda event_id: False)
    registration = registrations.register(event.id, user, True)
    db.session.commit()
    db.session.expire_all()
    assert registration.state == "waiting"
    assert (registration.ticket_code, registration.short_code) == (None, None)
    assert registration.confirmed_at is None
    assert registration.waiting_since == registration.created_at
    assert db.session.scalar(db.select(db.func.count(Job.id)).where(Job.queue == "tickets")) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"waiting_list_enabled": False, "capacity": 1}, "The event is full."),
        ({"registration_closes_at": "past"}, "Registration is closed."),
        ({"registration_opens_at": "future"}, "Registration has not opened yet."),
        ({"members_only": True}, "Only members with an active membership"),
    ],
)
def test_refusals_are_clear(client, ctx, change, reason, monkeypatch):
    now = utcnow()
    values = dict(change)
    if values.get("registration_closes_at") == "past":
        values["registration_closes_at"] = now - timedelta(hours=1)
    if values.get("registration_opens_at") == "future":
        values["registration_opens_at"] = now + timedelta(days=1)
    event = make_event(**{"capacity": 10, **values})
    if values.get("capacity") == 1:
        make_registration(event)
    user = make_user()
    db.session.commit()
    monkeypatch.setattr(eligibility, "is_member", lambda user: False)
    login(client, user.email)
    page = _register(client, event).get_data(as_text=True)
    assert reason in page
    assert db.session.scalar(db.select(Registration).filter_by(user_id=user.id)) is None


def test_members_only_lets_active_members_in(client, ctx, monkeypatch):
    """The members domain decides; here its answer is replaced by a list of member ids."""
    event = make_event(capacity=10, members_only=True)
    member, other = make_user(), make_user()
    db.session.commit()
    monkeypatch.setattr(eligibility, "is_member", lambda user: user.id == member.id)
    login(client, member.email)
    _register(client, event)
    assert db.session.scalar(db.select(Registration.state).filter_by(user_id=member.id)) == (
        "confirmed"
    )
    with pytest.raises(eligibility.Refused) as refused:
        registrations.register(event.id, other, True)
    assert refused.value.code == "members_only"


def test_members_only_uses_the_membership_domain(ctx):
    """is_member is the members domain's answer: true for an active membership only."""
    member = make_member().user
    applicant = make_member(status="applied").user
    assert eligibility.is_member(member) is True
    assert eligibility.is_member(applicant) is False
    assert eligibility.is_member(make_user()) is False


def test_already_registered_and_unverified_are_refused(client, ctx):
    event = make_event(capacity=10)
    user = make_user()
    unverified = make_user(verified=False)
    db.session.commit()
    login(client, user.email)
    _register(client, event)
    assert "already registered" in _register(client, event).get_data(as_text=True)
    assert (
        db.session.scalar(db.select(db.func.count(Registration.id)).filter_by(user_id=user.id)) == 1
    )
    with pytest.raises(eligibility.Refused) as refused:
        registrations.register(event.id, unverified, True)
    assert refused.value.code == "not_verified"


def test_unregister_promotes_the_first_waiting_person_who_gets_a_ticket(
    client, ctx, mailbox, run_jobs
):
    event = make_event("Jólaball", capacity=1)
    holder = make_user(email="holder@example.org")
    confirmed = make_registration(event, holder)
    first = make_registration(event, make_user(email="first@example.org"), state="waiting")
    make_registration(event, make_user(email="second@example.org"), state="waiting")
    first.waiting_since = utcnow() - timedelta(minutes=5)
    db.session.commit()

    login(client, holder.email)
    page = post_form(
        client,
        f"/events/{event.id}/unregister",
        {},
        page_url=_event_url(event),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Your registration is cancelled" in page
    db.session.refresh(confirmed)
    db.session.refresh(first)
    db.session.refresh(event)
    assert confirmed.state == "cancelled"
    assert first.state == "confirmed" and first.ticket_code
    assert event.confirmed_count == 1
    run_jobs()
    [message] = mailbox.to("first@example.org")
    assert "a seat became free" in html_part(message)
    assert not mailbox.to("second@example.org")


def test_unregister_without_waiting_list_frees_the_seat(ctx):
    event = make_event(capacity=2)
    registration = make_registration(event)
    db.session.commit()
    registrations.unregister(event.id, registration.user)
    db.session.commit()
    db.session.refresh(event)
    assert event.confirmed_count == 0 and event.seats_left == 2


def test_register_again_after_cancelling_gets_a_new_code(ctx):
    event = make_event(capacity=2)
    user = make_user()
    first = registrations.register(event.id, user, True)
    old_code = first.ticket_code
    registrations.unregister(event.id, user)
    again = registrations.register(event.id, user, True)
    assert again.id == first.id and again.state == "confirmed"
    assert again.ticket_code != old_code
    db.session.refresh(event)
    assert event.confirmed_count == 1


def test_public_pages_list_show_and_share(app, ctx):
    soon = make_event("Fyrirlestur um fugla", capacity=3, summary="Birds of Iceland")
    make_registration(soon)
    full = make_event("Fuld sal", capacity=1, days_ahead=8)
    make_registration(full)
    closed = make_event(
        "Lukket", capacity=5, days_ahead=9, registration_closes_at=utcnow() - timedelta(hours=1)
    )
    old = make_event("Gammelt møde", days_ahead=-30)
    draft = make_event("Hemmeligt udkast", status="draft")
    db.session.commit()
    client = app.test_client()
    client.set_cookie("lang", "en")
    listing = client.get("/events/").get_data(as_text=True)
    assert "Fyrirlestur um fugla" in listing and "2 seats left" in listing
    assert "Full — waiting list" in listing
    assert "Closed" in listing
    assert "Gammelt møde" not in listing and "Hemmeligt udkast" not in listing
    assert "Gammelt møde" in client.get("/events/past").get_data(as_text=True)
    assert client.get(f"/events/{draft.id}/{draft.slug}").status_code == 404

    page = client.get(f"/events/{soon.id}/{soon.slug}").get_data(as_text=True)
    assert '<meta property="og:title" content="Fyrirlestur um fugla">' in page
    assert '<meta property="og:description" content="Birds of Iceland">' in page
    assert re.search(r'<meta name="twitter:card" content="summary', page)
    assert f'og:url" content="{app.config["BASE_URL"]}/events/{soon.id}/{soon.slug}"' in page
    assert "Log in to register" in page

    ics = client.get(f"/events/{soon.id}/event.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    from icalendar import Calendar

    [vevent] = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Fyrirlestur um fugla"
    assert vevent.decoded("DTSTART") == soon.starts_at
    del closed, old


def test_wrong_or_old_slug_redirects_to_the_current_address(app, ctx):
    event = make_event("Sommerfest", capacity=5)
    db.session.commit()
    client = app.test_client()
    response = client.get(f"/events/{event.id}/an-old-name")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/events/{event.id}/{event.slug}")
    assert client.get(f"/events/{event.id}").status_code == 301


def test_personal_data_export_includes_registrations(app, ctx):
    event = make_event("Þorrablót", capacity=5)
    user = make_user()
    make_registration(event, user)
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    data = client.get("/account/data.json").get_json()
    [row] = data["event_registrations"]
    assert row["event_title"] == "Þorrablót" and row["state"] == "confirmed"
    assert "My tickets" in client.get("/account").get_data(as_text=True)


def test_demo_seed_adds_events_with_a_nearly_full_one_and_a_waiting_list(ctx, monkeypatch):
    from app import demo
    from app.auth import passwords
    from app.events.models import Event

    monkeypatch.setattr(passwords, "hash_password", lambda password: "not-a-real-hash")
    demo.seed(40)
    events = db.session.scalars(db.select(Event)).all()
    published = [e for e in events if e.status == "published"]
    assert len(published) >= 5 and any(e.status == "draft" for e in events)
    assert any(e.ends_at < utcnow() for e in published)  # past events too
    assert any(e.capacity and e.capacity - e.confirmed_count == 1 for e in published)
    full = [e for e in published if e.capacity and e.seats_left == 0]
    assert full and roster.state_counts(full[0].id)["waiting"] > 0
    for event in published:
        confirmed = roster.state_counts(event.id)["confirmed"]
        assert confirmed == event.confirmed_count


@pytest.mark.live  # its own SQLite app: the shared PostgreSQL session is not swapped in
def test_on_sqlite_a_second_registration_of_one_person_is_refused(tmp_path):
    """The row's INSERT ... ON CONFLICT DO NOTHING is plain SQL that SQLite speaks too."""
    from app.core.errors import DomainError
    from tests.helpers import sqlite_dev_app

    dev = sqlite_dev_app(tmp_path)
    with dev.test_request_context():
        event = make_event("SQLite", capacity=5)
        user = make_user(email="sqlite@example.org")
        db.session.commit()
        first = registrations.register(event.id, user, accepted_terms=True)
        db.session.commit()
        assert (first.state, first.user_id, first.email) == ("confirmed", user.id, user.email)
        with pytest.raises(DomainError):
            registrations.register(event.id, user, accepted_terms=True)
        db.session.rollback()
        assert db.session.query(Registration).filter_by(event_id=event.id).count() == 1
        db.session.remove()
