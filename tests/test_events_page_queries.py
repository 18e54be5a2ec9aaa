"""The events list, an event's page and /account read a fixed number of rows' worth of queries:
their statements do not grow with events, images, registrations or tickets (issue 13)."""

from __future__ import annotations

from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import StatementCounter, login


def _statements(app, client, url: str) -> list[str]:
    """The page's SELECTs; the branding row (cached per process for a minute) is left out."""
    client.get(url)  # warm up: templates, translations, per-process caches
    with StatementCounter(app) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return [
        s
        for s in counter.statements
        if s.lstrip().upper().startswith("SELECT") and "FROM mail_layout_settings" not in s
    ]


def _events_with_images(count: int, start: int, people: int, member=None) -> list:
    events = []
    for n in range(start, start + count):
        event = make_event(f"Evening {n}", capacity=100, days_ahead=n + 1)
        event.image_key = f"events/original-{n}.jpg"
        event.image_list_key = f"events/list/list-{n}.jpg"
        event.image_detail_key = f"events/detail/detail-{n}.jpg"
        for _ in range(people):
            make_registration(event)
        if member is not None:
            make_registration(event, member)
        events.append(event)
    db.session.commit()
    return events


def test_events_list_queries_do_not_grow_with_events_images_or_registrations(app, client, ctx):
    member = make_user("lister@example.org")
    _events_with_images(1, 0, people=2, member=member)
    anonymous_few = _statements(app, app.test_client(), "/events/")
    login(client, member.email)
    member_few = _statements(app, client, "/events/")

    _events_with_images(6, 1, people=5, member=member)
    anonymous_many = _statements(app, app.test_client(), "/events/")
    member_many = _statements(app, client, "/events/")
    html = client.get("/events/").get_data(as_text=True)
    assert html.count("event-card-img") == 7 and "Evening 6" in html

    assert len(anonymous_many) == len(anonymous_few), anonymous_many
    assert len(member_many) == len(member_few), member_many
    assert len(anonymous_many) <= 3, anonymous_many  # the page of events and its count


def test_event_page_queries_do_not_grow_with_registrations(app, client, ctx):
    member = make_user("reader@example.org")
    [event] = _events_with_images(1, 0, people=2, member=member)
    url = f"/events/{event.id}/{event.slug}"
    login(client, member.email)
    few = _statements(app, client, url)
    anonymous_few = _statements(app, app.test_client(), url)

    for _ in range(30):
        make_registration(event)
    db.session.commit()
    many = _statements(app, client, url)
    anonymous_many = _statements(app, app.test_client(), url)

    assert len(many) == len(few), many
    assert len(anonymous_many) == len(anonymous_few), anonymous_many


def test_account_page_queries_do_not_grow_with_tickets(app, client, ctx):
    member = make_user("holder@example.org")
    _events_with_images(1, 0, people=0, member=member)
    login(client, member.email)
    few = _statements(app, client, "/account")

    _events_with_images(5, 1, people=3, member=member)
    many = _statements(app, client, "/account")
    html = client.get("/account").get_data(as_text=True)
    assert "You have 6 tickets for upcoming events." in html

    assert len(many) == len(few), many
    # The sign-in session with its user, then every number the page shows in one statement
    # (tickets, polls waiting, unread conversations, membership: app/core/glance.py).
    assert len(many) == 2, many


def test_a_registration_post_runs_a_fixed_handful_of_statements(app, client, ctx):
    """Session, the event with its terms and questions, the row written confirmed with its
    ticket, the seat and the ticket job: no statement per registration already made (issue 13)."""
    from tests.helpers import csrf_from

    [event] = _events_with_images(1, 0, people=20)
    member = make_user("counted@example.org")
    db.session.commit()
    login(client, member.email)
    page_url, register_url = f"/events/{event.id}/{event.slug}", f"/events/{event.id}/register"
    page = client.get(page_url).get_data(as_text=True)
    with StatementCounter(app) as counter:
        answer = client.post(register_url, data={"csrf_token": csrf_from(page)})
    assert answer.status_code == 303
    statements = [
        s
        for s in counter.statements
        # the webhook subscriptions, read again when their per-process copy runs out
        if not counter.BOOKKEEPING.search(s) and "FROM webhook_endpoints" not in s
    ]
    assert len(statements) == 5, [s[:90] for s in statements]
    assert sum("FROM registration_terms" in s for s in statements) == 0, "read with the event"
