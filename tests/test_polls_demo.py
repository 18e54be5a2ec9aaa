"""Demo data for polls: an open poll with ballots, and a closed board election whose ranked count
(real ballots, tallied) is published."""

from sqlalchemy import select

from app.extensions import db
from app.polls.models import Poll
from app.polls.tally import poll_results


def test_the_demo_seed_gives_an_open_poll_and_a_counted_election(app, ctx):
    from app.demo import seed

    seed(member_count=24)
    polls = db.session.scalars(select(Poll).order_by(Poll.id)).all()
    assert [p.status for p in polls] == ["open", "published"]
    open_poll, election = polls
    assert open_poll.is_open and open_poll.electorate_size > 0
    assert poll_results(open_poll)["voted"] > 0
    results = poll_results(election)
    assert results["electorate"] == election.electorate_size > 0
    assert 0 < results["voted"] <= results["electorate"]
    board = results["questions"][0]
    assert len(board["elected"]) == 3 and len(board["rounds"]) > 1
    assert election.closes_at < election.published_at
