"""Fault tests on a real Redis: down at commit, refusing a relay turn, never answering, restarted
empty. Accepted work is neither lost nor done twice."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from flask_rq._job_class import FlaskJob
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES
from rq import Queue
from sqlalchemy import select, update

from app.core import relay
from app.core.jobs import Job
from app.core.timeutil import utcnow
from app.events.models import Registration
from app.extensions import db, rq
from tests.conftest import free_port
from tests.factories import make_event, make_user
from tests.helpers import login, post_form


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(app, monkeypatch):
    """The app's queues on a Redis server that the test can stop and restart."""
    if not pytest.importorskip("shutil").which("redis-server"):
        pytest.fail("redis-server is not installed")
    server = RedisServer()
    server.start()
    connection = redis.Redis(port=server.port)
    queues = {
        name: Queue(name, connection=connection, job_class=FlaskJob, is_async=True)
        for name in app.config["RQ_QUEUES"]
    }
    monkeypatch.setitem(rq._queues, app, queues)
    # Rate limits (login, API, door) count in the same Redis in production.
    strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]]
    monkeypatch.setitem(
        app.extensions,
        "ratelimit",
        strategy(storage_from_string(f"redis://127.0.0.1:{server.port}")),
    )
    monkeypatch.setitem(app.config, "JOBS_LEASE_SECONDS", 0)  # the relay may take rows at once
    yield server
    server.stop()


def _register_through_the_site(client, event, email):
    login(client, email)
    return post_form(
        client,
        f"/events/{event.id}/register",
        {"accept_terms": "y"},
        page_url=f"/events/{event.id}/{event.slug}",
    )


def _register_while_redis_is_down(client, private_redis, email):
    """An event and a person; Redis stops; the person signs in and registers through the site."""
    event = make_event()
    make_user(email)
    db.session.commit()
    private_redis.stop()
    return _register_through_the_site(client, event, email)


def test_ticket_arrives_after_redis_was_down_at_commit(
    app, client, ctx, private_redis, mailbox, run_jobs
):
    # Signing in (rate-limited, lockout counted in Redis) and registering still work.
    response = _register_while_redis_is_down(client, private_redis, "ada@example.org")
    assert response.status_code == 303  # the request commits and answers normally
    assert "/account" in client.get("/events/").get_data(as_text=True)
    [registration] = db.session.scalars(select(Registration)).all()
    assert registration.state == "confirmed"
    assert [j.state for j in db.session.scalars(select(Job))] == ["pending"]
    assert mailbox.to("ada@example.org") == []

    private_redis.start()  # Redis is back, empty
    assert relay.relay_once() == 1
    run_jobs()
    [ticket] = mailbox.to("ada@example.org")
    assert "ticket" in ticket["Subject"].lower()


@pytest.mark.live  # the due mark is written on a connection of its own, after the commit
def test_a_job_redis_refused_at_commit_is_due_at_the_relays_next_turn(
    app, client, ctx, private_redis, monkeypatch, mailbox, run_jobs
):
    monkeypatch.setitem(app.config, "JOBS_LEASE_SECONDS", 120)  # the fast path's grace time
    _register_while_redis_is_down(client, private_redis, "dag@example.org")

    db.session.expire_all()
    [job] = db.session.scalars(select(Job)).all()
    assert job.state == "pending" and job.run_at <= utcnow()  # not two minutes from now
    private_redis.start()
    assert relay.relay_once() == 1
    run_jobs()
    assert len(mailbox.to("dag@example.org")) == 1


@pytest.mark.live  # real commits: the relay's rollback must undo its own lease, and only that
def test_a_relay_turn_redis_refuses_hands_nothing_and_leases_nothing(
    app, client, ctx, private_redis, mailbox, run_jobs
):
    _register_while_redis_is_down(client, private_redis, "cai@example.org")

    due = utcnow() - timedelta(seconds=1)  # the relay's turn, without waiting out the lease
    db.session.execute(update(Job).values(run_at=due))
    db.session.commit()

    assert relay.relay_once() == 0  # Redis still down: the turn hands nothing...
    db.session.expire_all()
    [job] = db.session.scalars(select(Job)).all()
    assert (job.state, job.run_at) == ("pending", due)  # ...and leases nothing: due as it was

    private_redis.start()
    assert relay.relay_once() == 1
    run_jobs()
    assert len(mailbox.to("cai@example.org")) == 1


class SilentRedis:
    """A server on a free port that takes connections and never answers: a Redis stuck, or
    behind a network path that drops its replies."""

    def __init__(self):
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self):
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.mark.live  # the due mark is written on a connection of its own, after the commit
def test_a_redis_that_never_answers_costs_a_request_seconds_and_loses_nothing(
    app, client, ctx, monkeypatch, mailbox, private_redis, run_jobs
):
    from app import redis_address

    event = make_event()
    make_user("eir@example.org")
    db.session.commit()
    answering = rq._queues[app]  # private_redis's, for after
    monkeypatch.setitem(app.config, "REDIS_TIMEOUT_SECONDS", 0.5)
    silent = SilentRedis()
    url = redis_address(f"redis://127.0.0.1:{silent.port}/0", app.config)
    stuck = redis.Redis.from_url(url)
    monkeypatch.setitem(
        rq._queues,
        app,
        {n: Queue(n, connection=stuck, job_class=FlaskJob) for n in app.config["RQ_QUEUES"]},
    )
    strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]]
    monkeypatch.setitem(app.extensions, "ratelimit", strategy(storage_from_string(url)))

    def hung(signum, frame):
        raise AssertionError("a request waited on the silent Redis for a minute")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        # A few timeouts of REDIS_TIMEOUT_SECONDS, then the request goes on without Redis
        # (the timeout reaching the app's addresses: test_core_app.py).
        response = _register_through_the_site(client, event, "eir@example.org")
        assert response.status_code == 303
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        silent.close()
    [job] = db.session.scalars(select(Job)).all()
    assert job.state == "pending" and job.run_at <= utcnow()  # the relay's, at its next turn
    monkeypatch.setitem(rq._queues, app, answering)  # Redis answers again
    assert relay.relay_once() == 1
    run_jobs()
    assert len(mailbox.to("eir@example.org")) == 1


def test_nothing_is_lost_when_redis_restarts_empty(
    app, client, ctx, private_redis, mailbox, run_jobs
):
    event = make_event()
    make_user("bea@example.org")
    db.session.commit()
    _register_through_the_site(client, event, "bea@example.org")
    assert rq.get_queue("tickets").count == 1  # handed over at once...

    private_redis.stop()
    private_redis.start()  # ...and lost: a restart without persistence
    assert rq.get_queue("tickets").count == 0
    assert run_jobs() == 0 and mailbox.to("bea@example.org") == []

    assert relay.relay_once() == 1
    run_jobs()
    assert len(mailbox.to("bea@example.org")) == 1
    assert relay.relay_once() == 0
    run_jobs()
    assert len(mailbox.to("bea@example.org")) == 1
