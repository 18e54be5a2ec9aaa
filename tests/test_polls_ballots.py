"""Casting ballots: who may vote, the question rules, receipts, secret and open ballots."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, inspect, select

from app.extensions import db
from app.polls import ballots
from app.polls.ballots import AlreadyVoted, InvalidBallot, NotEligible, PollClosed, cast
from app.polls.models import Ballot, BallotChoice, Participation
from tests.factories import make_poll, make_user

ELECTION = (
    ("Approve the accounts?", "yes_no", (), 1, 1),
    ("Chair", "single", ("Ada", "Bo", "Cy"), 1, 1),
    ("Committee", "multiple", ("Dag", "Eir", "Finn", "Gro"), 2, 1),
    ("Board", "ranked", ("Hal", "Ivy", "Jon", "Kai"), 1, 2),
)


def options(poll, position):
    return [o.id for o in poll.questions[position].options]


def counts():
    return (
        db.session.scalar(select(func.count()).select_from(Ballot)),
        db.session.scalar(select(func.count()).select_from(Participation)),
    )


def test_a_valid_ballot_is_stored_with_a_receipt_and_a_participation(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION)
    q = poll.questions
    answers = {
        str(q[0].id): [options(poll, 0)[0]],
        str(q[1].id): [options(poll, 1)[2]],
        str(q[2].id): options(poll, 2)[:2],
        str(q[3].id): [options(poll, 3)[2], options(poll, 3)[0]],
    }
    receipt = cast(poll, voter, answers)
    assert len(ballots.normalise_receipt(receipt)) == 16
    assert counts() == (1, 1)
    assert ballots.has_voted(poll, voter)
    assert ballots.receipt_counted(poll, receipt)
    assert ballots.receipt_counted(poll, receipt.lower().replace("-", " "))
    assert not ballots.receipt_counted(poll, ballots.new_receipt())
    ranked = db.session.execute(
        select(BallotChoice.option_id, BallotChoice.rank)
        .where(BallotChoice.question_id == q[3].id)
        .order_by(BallotChoice.rank)
    ).all()
    assert ranked == [(options(poll, 3)[2], 1), (options(poll, 3)[0], 2)]


def test_a_secret_ballot_row_has_no_voter_time_or_receipt_code(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION)
    receipt = cast(poll, voter, {str(poll.questions[1].id): [options(poll, 1)[0]]})
    columns = {c.name for c in inspect(Ballot).columns}
    # Nothing in the schema can hold a time or a membership; the user id stays empty.
    assert columns == {"id", "poll_id", "receipt_hash", "user_id"}
    row = db.session.execute(select(Ballot.__table__)).one()._asdict()
    assert row["user_id"] is None
    assert receipt not in str(row) and ballots.normalise_receipt(receipt) not in str(row)
    assert len(row["id"]) == 32  # a random UUID, not a sequence


def test_blank_answers_are_a_valid_ballot(ctx):
    first, second = make_user(), make_user()
    poll = make_poll(questions=ELECTION)
    cast(poll, first, {})
    cast(poll, second, {str(poll.questions[2].id): []})
    assert counts() == (2, 2)
    assert db.session.scalar(select(func.count()).select_from(BallotChoice)) == 0


@pytest.mark.parametrize(
    "position, pick, message",
    [
        (0, lambda o: o[:2], "one option"),
        (1, lambda o: o[:2], "one option"),
        (2, lambda o: o[:3], "at most 2"),
        (2, lambda o: [o[0], o[0]], "more than once"),
        (3, lambda o: [o[1], o[1]], "more than once"),
        (3, lambda o: [o[0], 999999], "not one of"),
        (1, lambda o: ["x"], "not one of"),
        (1, lambda o: {"a": 1}, "not a list"),
    ],
)
def test_an_invalid_answer_is_refused_and_changes_nothing(ctx, position, pick, message):
    voter = make_user()
    poll = make_poll(questions=ELECTION)
    question = poll.questions[position]
    with pytest.raises(InvalidBallot) as refused:
        cast(poll, voter, {str(question.id): pick(options(poll, position))})
    assert refused.value.code == "invalid" and refused.value.status == 422
    with force_locale("en"):
        assert message in str(refused.value.message)
    assert counts() == (0, 0)


def test_an_option_of_another_question_is_invalid(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION)
    with pytest.raises(InvalidBallot):
        cast(poll, voter, {str(poll.questions[1].id): [options(poll, 2)[0]]})
    with pytest.raises(InvalidBallot):
        cast(poll, voter, {"123456": [options(poll, 1)[0]]})
    assert counts() == (0, 0)


def test_a_second_ballot_is_refused(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION)
    cast(poll, voter, {})
    with pytest.raises(AlreadyVoted) as refused:
        cast(poll, voter, {str(poll.questions[1].id): [options(poll, 1)[0]]})
    assert (refused.value.code, refused.value.status) == ("already_voted", 409)
    assert counts() == (1, 1)


def test_only_the_frozen_electorate_may_vote(ctx):
    before = make_user()
    poll = make_poll(questions=ELECTION, electorate_kind="users")
    later = make_user()  # verified after the poll opened: not in the electorate
    unverified = make_user(verified=False)
    assert poll.electorate_size >= 1
    for outsider in (later, unverified):
        with pytest.raises(NotEligible) as refused:
            cast(poll, outsider, {})
        assert (refused.value.code, refused.value.status) == ("not_eligible", 403)
    cast(poll, before, {})
    assert counts() == (1, 1)


def test_members_electorate_is_active_members_only(ctx):
    from app.members.models import Membership

    member, former = make_user(), make_user()
    db.session.add_all(
        [
            Membership(user_id=member.id, status="active", full_name="A Member"),
            Membership(user_id=former.id, status="resigned", full_name="A Former"),
        ]
    )
    db.session.flush()
    poll = make_poll(questions=ELECTION, electorate_kind="members")
    assert poll.electorate_size == 1
    cast(poll, member, {})
    with pytest.raises(NotEligible):
        cast(poll, former, {})


@pytest.mark.parametrize("status", ["draft", "scheduled", "closed", "published"])
def test_a_poll_that_is_not_open_refuses_ballots(ctx, status):
    voter = make_user()
    poll = make_poll(questions=ELECTION, status=status)
    with pytest.raises(PollClosed) as refused:
        cast(poll, voter, {})
    assert (refused.value.code, refused.value.status) == ("closed", 409)
    assert counts() == (0, 0)


def test_a_poll_past_its_closing_time_refuses_ballots(ctx):
    from datetime import timedelta

    from app.core.timeutil import utcnow

    voter = make_user()
    poll = make_poll(questions=ELECTION)
    poll.closes_at = utcnow() - timedelta(seconds=1)
    poll.opens_at = poll.closes_at - timedelta(hours=2)
    db.session.flush()
    with pytest.raises(PollClosed):
        cast(poll, voter, {})


def test_an_open_ballot_names_the_voter_and_may_be_changed_when_allowed(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION, secret=False, may_change_vote=True)
    chair = poll.questions[1]
    first = cast(poll, voter, {str(chair.id): [options(poll, 1)[0]]})
    second = cast(poll, voter, {str(chair.id): [options(poll, 1)[1]]})
    assert counts() == (1, 1)
    assert ballots.my_answers(poll, voter) == {chair.id: [options(poll, 1)[1]]}
    assert db.session.scalar(select(Ballot.user_id)) == voter.id
    assert ballots.receipt_counted(poll, second) and not ballots.receipt_counted(poll, first)


def test_an_open_ballot_without_changes_allowed_is_cast_once(ctx):
    voter = make_user()
    poll = make_poll(questions=ELECTION, secret=False)
    cast(poll, voter, {})
    with pytest.raises(AlreadyVoted):
        cast(poll, voter, {})


def test_ranking_from_rank_numbers(ctx):
    poll = make_poll(questions=ELECTION)
    question = poll.questions[3]
    a, b, c, d = options(poll, 3)
    assert ballots.ranking_from_ranks(question, {a: 2, b: 1, c: 0, d: 3}) == [b, a, d]
    with pytest.raises(InvalidBallot) as refused:
        ballots.ranking_from_ranks(question, {a: 1, b: 1})
    with force_locale("en"):
        assert str(refused.value.message) == "Two options have the same rank."


def test_mixing_keeps_the_ballots_and_their_receipts(ctx):
    voters = [make_user() for _ in range(6)]
    poll = make_poll(questions=ELECTION)
    chair = poll.questions[1]
    receipts = [
        cast(poll, voter, {str(chair.id): [options(poll, 1)[n % 3]]})
        for n, voter in enumerate(voters)
    ]
    before_ids = set(db.session.scalars(select(Ballot.id)))
    choices_before = sorted(db.session.scalars(select(BallotChoice.option_id)))
    assert ballots.mix_ballots(poll) == 6
    assert set(db.session.scalars(select(Ballot.id))).isdisjoint(before_ids)
    assert sorted(db.session.scalars(select(BallotChoice.option_id))) == choices_before
    assert all(ballots.receipt_counted(poll, r) for r in receipts)


def test_open_secret_polls_with_new_ballots_are_mixed_periodically(ctx):
    from app.polls.mixing import mix_open_polls

    voters = [make_user() for _ in range(4)]
    secret = make_poll(questions=ELECTION)
    open_ballots = make_poll(questions=ELECTION, secret=False)
    for voter in voters[:3]:
        cast(secret, voter, {})
        cast(open_ballots, voter, {})
    before = set(db.session.scalars(select(Ballot.id).where(Ballot.poll_id == secret.id)))
    open_before = set(
        db.session.scalars(select(Ballot.id).where(Ballot.poll_id == open_ballots.id))
    )
    assert mix_open_polls() == 1  # the secret poll only
    after = set(db.session.scalars(select(Ballot.id).where(Ballot.poll_id == secret.id)))
    assert len(after) == 3 and after.isdisjoint(before)
    assert secret.mixed_ballots == 3
    assert set(db.session.scalars(select(Ballot.id).where(Ballot.poll_id == open_ballots.id))) == (
        open_before
    )
    assert mix_open_polls() == 0  # nothing new: nothing rewritten
    cast(secret, voters[3], {})
    assert mix_open_polls() == 1 and secret.mixed_ballots == 4
