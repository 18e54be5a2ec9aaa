"""Races on PostgreSQL through the live server: the rush, simultaneous unregisters, double clicks.

Each test sends real concurrent HTTP requests (one PostgreSQL connection per request thread)
and then checks the invariants in the database. The ``*_without_the_guard`` tests swap the guard
for the naive version and show that the same checks then fail, so the tests can fail.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, true

from app.auth.models import User
from app.auth.passwords import hash_password
from app.core.timeutil import utcnow
from app.events import registrations
from app.events.models import Event, Registration
from app.extensions import db
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.live
USER_AGENT = "felag-concurrency-test"
_HASH = {}


def make_people(count: int, prefix: str) -> list[int]:
    """Verified users sharing one password hash (argon2 is slow on purpose)."""
    if "hash" not in _HASH:
        _HASH["hash"] = hash_password("unused in these tests")
    people = [
        User(
            email=f"{prefix}{n}@example.org",
            name=f"Person {prefix} {n}",
            password_hash=_HASH["hash"],
            locale="en",
            email_verified_at=utcnow(),
        )
        for n in range(count)
    ]
    db.session.add_all(people)
    db.session.flush()
    return [p.id for p in people]


def signed_in(app, user_id: int, base_url: str) -> tuple[requests.Session, str]:
    """A requests session carrying a logged-in Flask session cookie and its CSRF token.

    The cookie is what /auth/login would set (Flask-Login's keys, signed with the app's key);
    making it directly skips 0.2 s of argon2 per person. The register and unregister requests
    themselves go through the real routes and services.
    """
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from app.auth.login_flow import start_session

    # A fresh app context: Flask-WTF caches the token in g, which must not carry over.
    with app.app_context(), app.test_request_context("/", headers={"User-Agent": USER_AGENT}):
        start_session(
            db.session.get(User, user_id), remember=False, second_factor=True, method="password"
        )
        db.session.commit()
        token = generate_csrf()
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    http.cookies.set(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
    return http, token


def all_at_once(calls) -> list:
    """Run the calls in parallel threads, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def post(http, url, token, **data):
    return lambda: http.post(url, data={"csrf_token": token, **data}, allow_redirects=False)


def seat_state(app, event_id: int) -> dict:
    """What the database says: the seat counter, and registrations per state."""
    with app.app_context():
        db.session.remove()
        event = db.session.get(Event, event_id)
        counts = dict(
            db.session.execute(
                select(Registration.state, func.count(Registration.id))
                .where(Registration.event_id == event_id)
                .group_by(Registration.state)
            ).all()
        )
        return {
            "counter": event.confirmed_count,
            "confirmed": counts.get("confirmed", 0),
            "waiting": counts.get("waiting", 0),
            "cancelled": counts.get("cancelled", 0),
            "capacity": event.capacity,
        }


def rush(app, live_server, seats: int, people: int, waiting_list: bool = True):
    """people register at the same moment for an event with seats; returns statuses and state."""
    with app.app_context():
        event = make_event("Rush", capacity=seats, waiting_list_enabled=waiting_list)
        ids = make_people(people, "rush")
        db.session.commit()
        event_id = event.id
        sessions = [signed_in(app, uid, live_server) for uid in ids]
    url = f"{live_server}/events/{event_id}/register"
    responses = all_at_once([post(http, url, token, accept_terms="y") for http, token in sessions])
    return [r.status_code for r in responses], seat_state(app, event_id)


def test_rush_confirms_exactly_the_seats_and_queues_the_rest(app, live_server, postgres):
    statuses, state = rush(app, live_server, seats=8, people=24)
    assert statuses == [303] * 24  # every request answered (no 500), redirected to the page
    assert state["confirmed"] == 8 and state["counter"] == 8
    assert state["waiting"] == 16


def test_rush_without_a_waiting_list_refuses_the_rest(app, live_server, postgres):
    statuses, state = rush(app, live_server, seats=5, people=20, waiting_list=False)
    assert statuses == [303] * 20
    assert state["confirmed"] == 5 and state["counter"] == 5 and state["waiting"] == 0


def test_rush_without_the_guard_goes_wrong(app, live_server, postgres, monkeypatch):
    """The same rush with a check-then-increment instead of the conditional UPDATE fails.

    Without the guard the seat counter runs into the check constraint (the last line of
    defence) and people get server errors: the assertions of the test above would fail.
    """

    def naive_take_seat(event_id):
        event = db.session.get(Event, event_id)
        free = event.capacity is None or event.confirmed_count < event.capacity
        time.sleep(0.05)  # the gap between reading and writing that a rush falls into
        if not free:
            return False
        db.session.execute(
            Event.__table__.update()
            .where(Event.id == event_id)
            .values(confirmed_count=Event.confirmed_count + 1)
        )
        return True

    monkeypatch.setattr(registrations, "take_seat", naive_take_seat)
    statuses, state = rush(app, live_server, seats=4, people=16)
    assert state["confirmed"] <= 4  # the check constraint still never lets it oversell ...
    assert 500 in statuses  # ... but the rush now ends in server errors
    assert statuses != [303] * 16


def test_rush_guard_condition_is_what_keeps_the_count(app, live_server, postgres, monkeypatch):
    """Removing only the WHERE condition makes registrations past capacity hit errors."""
    monkeypatch.setattr(registrations, "_seat_condition", lambda: true())
    statuses, state = rush(app, live_server, seats=3, people=8)
    assert statuses.count(500) == 5 and state["confirmed"] == 3


def _unregister_rush(app, live_server, monkeypatch=None, seats=6):
    with app.app_context():
        event = make_event("Leaving", capacity=seats)
        holders = make_people(seats, "holder")
        waiters = make_people(seats, "waiter")
        for uid in holders:
            make_registration(event, db.session.get(User, uid))
        for n, uid in enumerate(waiters):
            registration = make_registration(event, db.session.get(User, uid), state="waiting")
            registration.waiting_since = utcnow().replace(microsecond=n)
        db.session.commit()
        event_id = event.id
        sessions = [signed_in(app, uid, live_server) for uid in holders]
    url = f"{live_server}/events/{event_id}/unregister"
    responses = all_at_once([post(http, url, token) for http, token in sessions])
    return [r.status_code for r in responses], seat_state(app, event_id)


def test_simultaneous_unregisters_promote_each_waiting_person_once(app, live_server, postgres):
    statuses, state = _unregister_rush(app, live_server)
    assert statuses == [303] * 6
    assert state["cancelled"] == 6 and state["waiting"] == 0
    assert state["confirmed"] == 6 and state["counter"] == 6  # every freed seat went on


def test_unregisters_without_the_row_lock_lose_seats(app, live_server, postgres, monkeypatch):
    """Without FOR UPDATE SKIP LOCKED two leavers can hand their seats to the same person."""

    def unlocked_promote_first(event):
        waiting = db.session.scalar(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.state == "waiting")
            .order_by(Registration.waiting_since, Registration.id)
            .limit(1)
        )
        time.sleep(0.05)
        if waiting is None:
            return None
        registrations._confirm(waiting, event, promoted=True)
        return waiting

    monkeypatch.setattr(registrations, "promote_first", unlocked_promote_first)
    _statuses, state = _unregister_rush(app, live_server)
    # The seat counter says every seat is taken, but fewer people hold one: seats are lost.
    assert state["counter"] == 6
    assert state["confirmed"] < 6 and state["waiting"] > 0


def test_double_click_makes_one_registration_and_one_ticket(
    app, live_server, postgres, mailbox, run_jobs
):
    with app.app_context():
        event = make_event("Click", capacity=10)
        [uid] = make_people(1, "clicker")
        db.session.commit()
        event_id = event.id
        http, token = signed_in(app, uid, live_server)
    url = f"{live_server}/events/{event_id}/register"
    statuses = [r.status_code for r in all_at_once([post(http, url, token, accept_terms="y")] * 6)]
    assert statuses == [303] * 6
    state = seat_state(app, event_id)
    assert state["confirmed"] == 1 and state["counter"] == 1
    with app.app_context():
        run_jobs()
    assert len(mailbox.to("clicker0@example.org")) == 1


def test_cancelled_registration_clicked_twice_is_reused_once(app, live_server, postgres):
    """Registering again after cancelling reuses the row; two clicks still make one seat."""
    with app.app_context():
        event = make_event("Again", capacity=10)
        [uid] = make_people(1, "again")
        registration = make_registration(event, db.session.get(User, uid))
        db.session.commit()
        registrations.cancel_registration(registration.id)
        db.session.commit()
        event_id = event.id
        http, token = signed_in(app, uid, live_server)
    url = f"{live_server}/events/{event_id}/register"
    statuses = [r.status_code for r in all_at_once([post(http, url, token, accept_terms="y")] * 5)]
    assert statuses == [303] * 5
    state = seat_state(app, event_id)
    assert state == {**state, "confirmed": 1, "counter": 1, "cancelled": 0}


# A seat freed at the moment someone joins the waiting list -----------------------------------
# The joiner's row is not committed yet, so the cancellation cannot promote it and frees the seat
# instead. Two interleavings, each driven step by step with two real connections:
#   B: the cancellation commits before the joiner locks the event row -> the joiner's second
#      look (under the lock) takes the seat;
#   A: the joiner holds the event row when the cancellation releases the seat -> the
#      cancellation looks again after the release (under the lock) and promotes the joiner.


def _full_event_with_holder(app) -> tuple[int, int, int]:
    with app.app_context():
        event = make_event("Race", capacity=1)
        holder, joiner = make_people(2, "race")
        make_registration(event, db.session.get(User, holder))
        db.session.commit()
        return event.id, holder, joiner


def _in_thread(app, fn) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        with app.app_context():
            try:
                result["value"] = fn()
            except Exception as exc:  # reported by the test
                result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _cancel_while_joining(app, monkeypatch, recheck: bool) -> dict:
    """Interleaving B: the holder cancels and commits while the joiner is between its two looks."""
    from app.core.jobs import commit

    event_id, holder, joiner = _full_event_with_holder(app)
    between, cancelled = threading.Event(), threading.Event()
    real_lock = registrations.lock_event_row

    def paused_lock(eid):
        between.set()
        assert cancelled.wait(10)
        real_lock(eid)

    monkeypatch.setattr(registrations, "lock_event_row", paused_lock)
    if not recheck:  # the naive version: no second look, the joiner just waits
        monkeypatch.setattr(registrations, "take_seat", _first_call_only(registrations.take_seat))

    def join():
        registrations.register(event_id, db.session.get(User, joiner), True)
        commit()

    thread, result = _in_thread(app, join)
    assert between.wait(10)
    with app.app_context():
        registrations.unregister(event_id, db.session.get(User, holder))
        commit()
    cancelled.set()
    thread.join(10)
    assert "error" not in result, result
    return seat_state(app, event_id)


def _first_call_only(take_seat):
    calls = []

    def wrapped(event_id):
        calls.append(event_id)
        return take_seat(event_id) if len(calls) == 1 else False

    return wrapped


def test_seat_freed_before_the_joiner_locks_goes_to_the_joiner(app, postgres, monkeypatch):
    state = _cancel_while_joining(app, monkeypatch, recheck=True)
    assert state["confirmed"] == 1 and state["counter"] == 1 and state["waiting"] == 0


def test_without_the_second_look_the_seat_stays_empty(app, postgres, monkeypatch):
    state = _cancel_while_joining(app, monkeypatch, recheck=False)
    assert state["counter"] == 0 and state["waiting"] == 1  # a free seat, someone waiting


def _join_while_cancelling(app, monkeypatch, recheck: bool) -> dict:
    """Interleaving A: the joiner holds the event row while the holder's cancellation runs."""
    from app.core.jobs import commit

    event_id, holder, joiner = _full_event_with_holder(app)
    looked = threading.Event()
    real_promote = registrations.promote_first

    def promote_then_signal(event):
        promoted = real_promote(event)
        looked.set()
        return promoted

    monkeypatch.setattr(registrations, "promote_first", promote_then_signal)
    if not recheck:  # the naive version: release the seat and stop there
        monkeypatch.setattr(registrations, "fill_free_seats", lambda event: 0)

    with app.app_context():
        joined = registrations.register(event_id, db.session.get(User, joiner), True)
        assert joined.state == "waiting"  # holding the event row, not committed yet

        def cancel():
            registrations.unregister(event_id, db.session.get(User, holder))
            commit()

        thread, result = _in_thread(app, cancel)
        assert looked.wait(10)  # the cancellation looked for someone waiting and found nobody
        commit()  # the joiner commits; the cancellation's release can now go on
    thread.join(10)
    assert "error" not in result, result
    return seat_state(app, event_id)


def test_joiner_holding_the_event_is_promoted_after_the_release(app, postgres, monkeypatch):
    state = _join_while_cancelling(app, monkeypatch, recheck=True)
    assert state["confirmed"] == 1 and state["counter"] == 1 and state["waiting"] == 0


def test_without_the_look_after_release_the_seat_stays_empty(app, postgres, monkeypatch):
    state = _join_while_cancelling(app, monkeypatch, recheck=False)
    assert state["counter"] == 0 and state["waiting"] == 1
