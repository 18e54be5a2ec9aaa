"""Exactly one ballot per elector, proven with real concurrent HTTP requests on PostgreSQL.

The guard is the participation row (unique poll + person) inserted in the ballot's own
transaction. The ``*_without_the_guard`` test swaps it for a check-then-insert and shows that the
same rush then stores several ballots for one person, so the tests can fail.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.polls import ballots
from app.polls.models import Ballot, BallotChoice, Participation, Poll
from tests.factories import make_poll
from tests.test_events_concurrency import all_at_once, make_people, post, signed_in

pytestmark = pytest.mark.live


def open_poll(app, people: int, prefix: str) -> tuple[int, list[int], dict]:
    """People first, then an open poll with one single-choice question; electorate: verified."""
    with app.app_context():
        ids = make_people(people, prefix)
        poll = make_poll(questions=(("Chair", "single", ("Ada", "Bo"), 1, 1),))
        db.session.commit()
        question = poll.questions[0]
        fields = {
            f"q{question.id}": str(question.options[0].id),
        }
        return poll.id, ids, fields


def state(app, poll_id: int) -> dict:
    """What the database says: ballots, participations, people with more than one."""
    with app.app_context():
        db.session.remove()
        count = lambda model: db.session.scalar(  # noqa: E731
            select(func.count()).select_from(model).where(model.poll_id == poll_id)
        )
        doubled = db.session.scalar(
            select(func.count()).select_from(
                select(Participation.user_id)
                .where(Participation.poll_id == poll_id)
                .group_by(Participation.user_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        votes = db.session.scalar(
            select(func.count())
            .select_from(BallotChoice)
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.poll_id == poll_id)
        )
        electorate = db.session.get(Poll, poll_id).electorate_size
        return {
            "ballots": count(Ballot),
            "participations": count(Participation),
            "doubled": doubled,
            "votes": votes,
            "electorate": electorate,
        }


def one_person_fifty_times(app, live_server) -> tuple[list[int], dict]:
    poll_id, [uid], fields = open_poll(app, 1, "clicker")
    http, token = signed_in(app, uid, live_server)
    url = f"{live_server}/polls/{poll_id}"
    responses = all_at_once([post(http, url, token, **fields)] * 50)
    return sorted(r.status_code for r in responses), state(app, poll_id)


def test_fifty_simultaneous_submissions_by_one_person_make_one_ballot(app, live_server, postgres):
    statuses, after = one_person_fifty_times(app, live_server)
    assert statuses == [200] + [409] * 49  # one receipt, 49 "already voted", no server error
    assert after["ballots"] == 1 and after["participations"] == 1 and after["votes"] == 1


def test_two_hundred_people_at_once_get_one_ballot_each(app, live_server, postgres):
    poll_id, ids, fields = open_poll(app, 200, "crowd")
    sessions = [signed_in(app, uid, live_server) for uid in ids]
    url = f"{live_server}/polls/{poll_id}"
    responses = all_at_once([post(http, url, token, **fields) for http, token in sessions])
    assert [r.status_code for r in responses] == [200] * 200
    after = state(app, poll_id)
    assert after == {
        "ballots": 200,
        "participations": 200,
        "doubled": 0,
        "votes": 200,
        "electorate": 200,
    }


def test_fifty_submissions_without_the_guard_count_one_person_twice(
    app, live_server, postgres, monkeypatch
):
    """A check-then-insert (look for a participation, then write) lets the rush through."""

    def naive_participate(poll, user):
        if ballots.has_voted(poll, user):
            return False
        time.sleep(0.05)  # the gap between reading and writing that a double click falls into
        db.session.execute(
            pg_insert(Participation)
            .values(poll_id=poll.id, user_id=user.id)
            .on_conflict_do_nothing()
        )
        return True

    monkeypatch.setattr(ballots, "_participate", naive_participate)
    statuses, after = one_person_fifty_times(app, live_server)
    assert after["participations"] == 1
    assert after["ballots"] > 1  # one person, several ballots: the assertion above would fail
    assert statuses.count(200) == after["ballots"]
