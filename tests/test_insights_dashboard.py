"""The staff dashboard (/staff/): what needs doing now, for the roles the reader holds."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core.jobs import Job
from app.core.timeutil import utcnow
from app.extensions import db
from app.inbox.models import Conversation
from tests.factories import make_event, make_poll, make_registration, make_user
from tests.helpers import StatementCounter, login
from tests.members_helpers import make_member


def _section(html: str, part: str) -> str:
    match = re.search(rf'<section[^>]*id="dash-{part}".*?</section>', html, re.S)
    return match.group(0) if match else ""


def _conversation(subject: str, state: str, hours_ago: int = 1) -> Conversation:
    at = utcnow() - timedelta(hours=hours_ago)
    conversation = Conversation(
        origin="contact",
        subject=subject,
        state=state,
        name="Visitor",
        email="visitor@example.org",
        locale="en",
        created_at=at,
        last_message_at=at,
    )
    db.session.add(conversation)
    return conversation


def _dashboard_statements(counter) -> list[str]:
    """Statements of the page, without the sign-in session's own bookkeeping (its last-seen
    time is written now and then, whatever the page)."""
    skip = re.compile(r"sign_in_sessions|mail_layout_settings|^(SAVEPOINT|RELEASE|ROLLBACK)")
    return [statement for statement in counter.statements if not skip.search(statement)]


def _staff_client(app, role: str):
    make_user(email=f"{role}@example.org", roles=[role])
    db.session.commit()
    client = app.test_client()
    login(client, f"{role}@example.org")
    return client


def test_membership_staff_see_applications_conversations_and_polls(app, ctx):
    old = make_member(status="applied", full_name="Anna Oldest")
    old.applied_at = utcnow() - timedelta(days=3)
    make_member(status="applied", full_name="Bjarni Newer")
    make_member(status="active", full_name="Already In")
    make_member(status="applied", full_name="Test Record", is_test=True)
    _conversation("Question about fees", "new", hours_ago=5)
    _conversation("Reopened thread", "open")
    _conversation("We answered", "waiting")
    _conversation("Buy pills", "spam")
    poll = make_poll("Annual vote")
    client = _staff_client(app, "membership")

    html = client.get("/staff/").get_data(as_text=True)

    applications = _section(html, "applications")
    assert 'data-count="2"' in applications
    assert applications.index("Anna Oldest") < applications.index("Bjarni Newer")
    assert "Already In" not in applications and "Test Record" not in applications
    assert f'href="/staff/members/{old.id}"' in applications
    assert 'href="/staff/members/applications"' in applications
    assert "The oldest has waited 3 days." in applications

    conversations = _section(html, "conversations")
    assert 'data-count="2"' in conversations
    assert "Question about fees" in conversations and "Reopened thread" in conversations
    assert "We answered" not in conversations and "Buy pills" not in conversations

    polls = _section(html, "polls")
    assert f'href="/staff/polls/{poll.id}/"' in polls and "Annual vote" in polls
    assert _section(html, "events") == "" and _section(html, "jobs") == ""


def test_organiser_sees_the_next_two_weeks_with_fill_rate_and_waiting_list(app, ctx):
    soon = make_event("Soon", capacity=4, days_ahead=3)
    for _ in range(2):
        make_registration(soon)
    make_registration(soon, state="waiting")
    make_event("Far off", capacity=10, days_ahead=20)
    make_event("Draft", capacity=10, days_ahead=2, status="draft")
    make_event("Open ended", capacity=None, days_ahead=1)
    client = _staff_client(app, "organiser")

    html = client.get("/staff/").get_data(as_text=True)

    events = _section(html, "events")
    assert 'data-count="2"' in events
    assert "Far off" not in events and "Draft" not in events
    row = re.search(rf'<tr data-event-id="{soon.id}">.*?</tr>', events, re.S).group(0)
    assert f'href="/staff/events/{soon.id}/"' in row
    assert "2 / 4" in row
    assert re.search(r"data-fill>50\.0\s?%<", row)
    assert "data-waiting>1<" in row
    assert _section(html, "applications") == "" and _section(html, "jobs") == ""


def test_admin_sees_failed_and_dead_jobs_with_links(app, ctx):
    db.session.add_all(
        [
            Job(kind="app.x:y", args=[], state="failed"),
            Job(kind="app.x:y", args=[], state="dead"),
            Job(kind="app.x:y", args=[], state="dead"),
            Job(kind="app.x:y", args=[], state="done"),
        ]
    )
    client = _staff_client(app, "admin")

    html = client.get("/staff/").get_data(as_text=True)

    jobs = _section(html, "jobs")
    assert 'data-count="3"' in jobs
    assert 'href="/staff/jobs/?state=failed" data-jobs="failed">1 job failed' in jobs
    assert 'href="/staff/jobs/?state=dead" data-jobs="dead">2 jobs gave up' in jobs
    # Admin implies every role: every part is there.
    for part in ("applications", "conversations", "polls", "events"):
        assert _section(html, part), part


def test_door_volunteer_gets_no_parts_and_no_statistics_link(app, ctx):
    make_member(status="applied")
    client = _staff_client(app, "door")

    response = client.get("/staff/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="dashboard-empty"' in html
    assert 'id="dash-' not in html and "/staff/stats/" not in html


def test_dashboard_queries_do_not_grow_with_the_data(app, ctx):
    client = _staff_client(app, "admin")
    make_member(status="applied")
    make_registration(make_event("One", days_ahead=2))
    make_poll("One poll")
    db.session.commit()
    client.get("/staff/")  # the session's first page loads what later pages have cached
    with StatementCounter(app) as before:
        assert client.get("/staff/").status_code == 200

    for n in range(6):
        make_member(status="applied")
        event = make_event(f"Event {n}", days_ahead=1 + n)
        make_registration(event)
        make_registration(event, state="waiting")
        make_poll(f"Poll {n}")
        _conversation(f"Thread {n}", "new")
        db.session.add(Job(kind="app.x:y", args=[], state="dead"))
    db.session.commit()
    with StatementCounter(app) as after:
        html = client.get("/staff/").get_data(as_text=True)

    assert 'data-count="7"' in _section(html, "applications")
    assert 'data-count="7"' in _section(html, "events")
    first, second = _dashboard_statements(before), _dashboard_statements(after)
    assert len(second) == len(first), sorted(set(second) ^ set(first))
