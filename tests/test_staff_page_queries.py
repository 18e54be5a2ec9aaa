"""Pages' statements do not grow with their rows: the organiser's registrations page and the
member record with the outbox and the audit log; every page, as an admin, with the association."""

from __future__ import annotations

import pytest

from app.core import audit
from app.core.mail import OutboxMessage
from app.events.models import EventMessage
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import StatementCounter, login, statements_of
from tests.members_helpers import make_member


def _page(app, client, url: str) -> tuple[int, str]:
    with StatementCounter(app) as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def _message(event, people, sent: int, subject: str) -> EventMessage:
    message = EventMessage(
        event_id=event.id, subject=subject, body="Hello", recipient_count=len(people)
    )
    db.session.add(message)
    db.session.flush()
    for n, registration in enumerate(people):
        db.session.add(
            OutboxMessage(
                key=f"event-message:{message.id}:{registration.id}",
                batch_key=f"event-message:{message.id}",
                to_address=registration.email,
                locale="en",
                template="event_message",
                state="sent" if n < sent else "queued",
            )
        )
    return message


@pytest.fixture
def organiser(app, ctx):
    make_user(email="org@example.org", roles=["organiser"])
    db.session.commit()
    client = app.test_client()
    login(client, "org@example.org")
    return client


def test_registrations_page_queries_do_not_grow_with_messages_or_outbox_rows(app, organiser):
    event = make_event("Sommerfest", capacity=20)
    people = [make_registration(event) for _ in range(3)]
    _message(event, people, sent=2, subject="First")
    db.session.commit()
    url = f"/staff/events/{event.id}/"
    organiser.get(url)  # the first page of a session loads what later pages have cached
    before, html = _page(app, organiser, url)
    assert "2 of 3 sent" in html

    for n, sent in enumerate([0, 1, 3, 0]):
        _message(event, people, sent=sent, subject=f"More {n}")
    other = make_event("Another", capacity=50)
    crowd = [make_registration(other) for _ in range(30)]
    _message(other, crowd, sent=30, subject="Elsewhere")
    db.session.commit()
    after, html = _page(app, organiser, url)
    assert after == before, (before, after)
    shown = [html.count(f"{n} of 3 sent") for n in range(4)]
    assert shown == [2, 1, 1, 1] and "30 of 30 sent" not in html


def test_member_record_queries_do_not_grow_with_the_audit_log(app, client, ctx):
    make_user("staff@example.org", "Sigga Staff", roles=["membership"])
    member = make_member(full_name="Trail Person")
    db.session.commit()
    login(client, "staff@example.org")
    url = f"/staff/members/{member.id}"
    client.get(url)
    before, html = _page(app, client, url)

    actors = [make_user(name=f"Actor {n}") for n in range(8)]
    for actor in actors:
        audit.record("member.updated", "membership", member.id, actor_id=actor.id)
        audit.record(
            "member.note_added", "user", None, actor_id=actor.id, subject_user_id=member.user_id
        )
    stranger = make_member(full_name="Someone Else")
    for n in range(50):
        audit.record(
            "member.updated",
            "membership",
            stranger.id,
            actor_id=actors[n % 8].id,
            subject_user_id=stranger.user_id,
        )
    db.session.commit()
    after, html = _page(app, client, url)
    assert after == before, (before, after)
    assert all(f"Actor {n}" in html for n in range(8))
    assert html.count('data-action="member.updated"') == 8  # not the other member's 50


def test_the_audit_log_and_a_users_page_do_not_grow_with_the_people_in_them(app, client, ctx):
    make_user("admin@example.org", roles=["admin"])
    person = make_user("person@example.org")
    db.session.commit()
    login(client, "admin@example.org")
    pages = ("/staff/audit/", f"/staff/users/{person.id}")
    counts = []
    for actors in (2, 8):
        for n in range(actors):
            actor = make_user(name=f"Actor {actors}-{n}", roles=["membership"])
            audit.record(
                "user.roles_changed",
                "user",
                person.id,
                actor_id=actor.id,
                subject_user_id=person.id,
            )
        db.session.commit()
        counts.append([_page(app, client, url)[0] for url in pages])
    assert counts[0] == counts[1], counts


def test_a_members_pages_do_not_grow_with_their_groups_titles_and_tickets(app, ctx):
    from datetime import date

    from app.events import registrations
    from app.members import groups, titles

    make_user("staff@example.org", roles=["membership"])
    member = make_member(full_name="Busy Person")
    member.user.email = "busy@example.org"
    db.session.commit()
    own, staff = app.test_client(), app.test_client()
    login(own, "busy@example.org")
    login(staff, "staff@example.org")
    pages = ((own, "/members/me"), (own, "/tickets/"), (staff, f"/staff/members/{member.id}"))
    counts = []
    for more in (1, 8):
        for n in range(more):
            group = groups.save_group(None, name=f"Group {len(counts)}-{n}", kind="committee")
            groups.join(group, member, None, by_staff=True)
            titles.add_title(member, "custom", date(2026, 1, 1), custom_title="Helper", group=group)
            registrations.register(make_event(days_ahead=3 + n).id, member.user, True)
        db.session.commit()
        counts.append([statements_of(app, client, url) for client, url in pages])
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_migration_backfills_the_batch_of_existing_event_message_rows(services, tmp_path, dialect):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import sqlalchemy as sa

    root = Path(__file__).resolve().parent.parent
    if dialect == "postgresql":
        if not services["postgres"]:
            pytest.skip("PostgreSQL is not running")
        name = services["database_name"] + "_backfill"
        admin = services["admin_engine"]
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = services["database_url"].rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp_path / 'backfill.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FELAG_ENV")}
    env.update(FLASK_APP="wsgi", DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))

    def upgrade(target: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade", target],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    try:
        upgrade("b1a0c0de0002")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for n, key in enumerate(["event-message:12:7", "event-message:3:40", "ticket:5"]):
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox_messages (id, key, to_address, locale, template, "
                        "context, attachments, headers, state, attempts, created_at) VALUES "
                        "(:id, :key, 'a@example.org', 'da', 't', '{}', '[]', '{}', 'sent', 1, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"id": n + 1, "key": key},
                )
        upgrade("b1a0c0de0003")
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT key, batch_key FROM outbox_messages")).all())
        engine.dispose()
        assert rows == {
            "event-message:12:7": "event-message:12",
            "event-message:3:40": "event-message:3",
            "ticket:5": None,
        }
    finally:
        if dialect == "postgresql":
            with services["admin_engine"].connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _statements_per_page(tmp_path, people: int) -> dict[str, int]:
    """Each page's statements, as an admin, over the demo data with `people` members (its own
    SQLite app), the objects' pages for the event, group and poll with the most rows."""
    from sqlalchemy import func, select

    from app import demo
    from app.events.models import Registration
    from app.members.models import GroupMember, Membership
    from app.polls.models import Ballot
    from tests.helpers import sqlite_dev_app
    from tests.page_forms import object_pages, page_urls

    app = sqlite_dev_app(
        tmp_path,
        PUBLIC_PAGE_CACHE_SECONDS=0,
        RATELIMIT_ENABLED=False,
        PASSWORD_HASH_TIME_COST=1,
        PASSWORD_HASH_MEMORY_KIB=1024,
        PASSWORD_HASH_PARALLELISM=1,
    )
    with app.test_request_context():
        email, password = demo.seed(people)
        db.session.commit()

        def fullest(column):
            return db.session.scalar(
                select(column).group_by(column).order_by(func.count().desc(), column).limit(1)
            )

        ids = {
            "event_id": fullest(Registration.event_id),
            "group_id": fullest(GroupMember.group_id),
        }
        ids["poll_id"] = fullest(Ballot.poll_id)
        ids["member_id"] = db.session.scalar(select(func.min(Membership.id)))
    admin = app.test_client()
    login(admin, email, password)
    counts = {}
    for url in page_urls(app) + object_pages(app, ids):
        if url.startswith("/door"):
            continue
        admin.get(url)  # the first visit's once-only reads (caches, the session's last seen)
        with StatementCounter(app) as counter:
            status = admin.get(url).status_code
        if status == 200:
            counts[url] = counter.count
    return counts


@pytest.mark.live  # apps of their own on SQLite: the shared PostgreSQL session is not swapped in
def test_no_page_reads_more_statements_when_the_association_grows(tmp_path):
    small = _statements_per_page(tmp_path / "small", 8)
    large = _statements_per_page(tmp_path / "large", 40)
    both = small.keys() & large.keys()
    assert len(both) > 60, sorted(both)  # the pages were reached, signed in, at both sizes
    grown = {url: (small[url], large[url]) for url in both if large[url] > small[url] + 1}
    assert not grown, grown
