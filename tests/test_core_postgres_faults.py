"""Fault tests on a real PostgreSQL: connections the server ended are replaced, and the app
recovers by itself."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.core.jobs import Job
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event


@pytest.mark.usefixtures("postgres")
def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(app, services):
    """The pool's ping asks the socket first (app/core/db_ping.py): a healthy idle connection is
    taken without a round trip; one the server ended is readable, gets the real ping, and is
    replaced before anyone uses it."""
    from app.core import db_ping

    with app.app_context():
        engine = db.engine
        assert engine.pool._pre_ping and "do_ping" in vars(engine.dialect)
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            raw = conn.connection.dbapi_connection
        assert db_ping.quiet(raw)  # back in the pool, idle: nothing to read
        with services["admin_engine"].connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # pg_terminate_backend only signals the backend
                gone = not admin.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid},
                ).scalar()
                if gone:
                    break
                time.sleep(0.05)
        assert not db_ping.quiet(raw)
        with engine.connect() as conn:  # no error: the pool replaced the ended connection
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid


@pytest.mark.usefixtures("postgres")
def test_app_recovers_by_itself_when_postgres_connections_are_terminated(
    app, services, live_server
):
    from tests.test_events_concurrency import make_people, signed_in

    with app.app_context():
        event = make_event(capacity=200)
        ids = make_people(40, "pgkill")
        db.session.commit()
        event_id, slug = event.id, event.slug
        db.session.remove()
    sessions = [signed_in(app, user_id, live_server) for user_id in ids]
    url = f"{live_server}/events/{event_id}/register"

    def kill_connections():
        with services["admin_engine"].connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": services["database_name"]},
            ).scalar()

    statuses = []
    killed = []

    def register(pair):
        http, token = pair
        response = http.post(
            url, data={"csrf_token": token, "accept_terms": "y"}, allow_redirects=False
        )
        statuses.append(response.status_code)
        if len(statuses) == 10 and not killed:  # in the middle of the load: others are in flight
            killed.append(kill_connections())

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(register, sessions[:30]))
    assert killed and killed[0] > 0
    assert set(statuses) <= {303, 500}  # an answer for each, the error page at worst

    # The app answers again by itself: the pool replaces dead connections (pool_pre_ping).
    import requests

    assert requests.get(f"{live_server}/health", timeout=10).status_code == 200
    for pair in sessions[30:]:
        register(pair)
    assert statuses[-10:] == [303] * 10
    assert requests.get(f"{live_server}/events/{event_id}/{slug}", timeout=10).status_code == 200

    # No half-written rows: each registration has its seat counted and its ticket job written.
    with app.app_context():
        confirmed = db.session.scalars(
            select(Registration.id).where(
                Registration.event_id == event_id, Registration.state == "confirmed"
            )
        ).all()
        counter = db.session.execute(
            sa.text("SELECT confirmed_count FROM events WHERE id = :id"), {"id": event_id}
        ).scalar()
        ticket_jobs = db.session.scalars(
            select(Job.args).where(Job.kind == "app.events.tasks:make_ticket")
        ).all()
        db.session.remove()
    assert counter == len(confirmed)
    assert sorted(args[0] for args in ticket_jobs) == sorted(confirmed)
