"""A ballot being cast while the poll closes: closing waits for it, so it is counted and mixed
with the others; a ballot that starts after the close is refused. Two real PostgreSQL
connections, driven step by step; the ``*_without_the_guard`` test shows the difference."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text, update

from app.extensions import db
from app.polls import ballots
from app.polls.models import Ballot, Poll
from tests.factories import make_poll, make_user

pytestmark = pytest.mark.live


def _close(poll_id: int) -> None:
    """What closing does to the ballots: the status change, then the mix (in one transaction)."""
    db.session.execute(
        update(Poll).where(Poll.id == poll_id, Poll.status == "open").values(status="closed")
    )
    ballots.mix_ballots(db.session.get(Poll, poll_id))
    db.session.commit()


def _race(app) -> dict:
    with app.test_request_context():
        voter, late = make_user(), make_user()
        poll = make_poll(questions=(("Chair", "single", ("Ada", "Bo"), 1, 1),))
        db.session.commit()
        poll_id, voter_id, late_id = poll.id, voter.id, late.id
        answer = {str(poll.questions[0].id): [poll.questions[0].options[0].id]}

    cast_done, may_commit, closer_pid = threading.Event(), threading.Event(), []
    seen: dict = {}

    def voting():
        with app.app_context():
            from app.auth.models import User

            ballots.cast(db.session.get(Poll, poll_id), db.session.get(User, voter_id), answer)
            seen["ballot_id"] = db.session.scalar(select(Ballot.id))
            cast_done.set()
            may_commit.wait(30)
            db.session.commit()
            db.session.remove()

    def closing():
        with app.app_context():
            closer_pid.append(db.session.scalar(text("SELECT pg_backend_pid()")))
            _close(poll_id)
            db.session.remove()

    voter_thread = threading.Thread(target=voting)
    voter_thread.start()
    assert cast_done.wait(30)
    closer = threading.Thread(target=closing)
    closer.start()
    with app.app_context():
        # Wait until the close is either blocked on a lock or finished.
        for _ in range(300):
            db.session.remove()
            waiting = closer_pid and db.session.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": closer_pid[0]},
            )
            if waiting or not closer.is_alive():
                break
            threading.Event().wait(0.05)
        seen["close_waited"] = bool(waiting) and closer.is_alive()
    may_commit.set()
    voter_thread.join(30)
    closer.join(30)
    with app.test_request_context():
        db.session.remove()
        from app.auth.models import User

        poll = db.session.get(Poll, poll_id)
        try:
            ballots.cast(poll, db.session.get(User, late_id), answer)
            seen["late"] = "accepted"
        except ballots.PollClosed:
            seen["late"] = "closed"
        db.session.rollback()
        seen["ids"] = list(db.session.scalars(select(Ballot.id)))
        seen["status"] = poll.status
    return seen


def test_closing_waits_for_a_ballot_being_cast_and_mixes_it(app, live_server, postgres):
    seen = _race(app)
    assert seen["close_waited"]
    assert seen["status"] == "closed" and seen["late"] == "closed"
    assert len(seen["ids"]) == 1
    assert seen["ids"] != [seen["ballot_id"]]  # rewritten by the mix: it was there in time


def test_closing_without_the_guard_leaves_a_ballot_unmixed(app, live_server, postgres, monkeypatch):
    """With a plain read of the status instead of the share lock, closing does not wait: the
    ballot commits after the close and keeps the key it was written with."""

    def unlocked(poll):
        status = db.session.scalar(select(Poll.status).where(Poll.id == poll.id))
        if status != "open":
            raise ballots.PollClosed("closed")

    monkeypatch.setattr(ballots, "_lock_open_poll", unlocked)
    seen = _race(app)
    assert not seen["close_waited"]
    assert seen["ids"] == [seen["ballot_id"]]  # stored after closing, outside the mix
