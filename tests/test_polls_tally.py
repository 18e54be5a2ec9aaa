"""The tally: textbook instant-runoff and STV examples, ties, exhausted papers, and poll results."""

from __future__ import annotations

from fractions import Fraction

from app.polls.ballots import cast
from app.polls.tally import droop_quota, poll_results, stv
from tests.factories import make_poll, make_user


def expand(groups):
    return [list(ranking) for count, ranking in groups for _ in range(count)]


def test_instant_runoff_tennessee_capital_elects_knoxville():
    # Wikipedia's "Tennessee capital" example: Memphis leads on first preferences but loses.
    m, n, c, k = 1, 2, 3, 4
    ballots = expand(
        [(42, (m, n, c, k)), (26, (n, c, k, m)), (15, (c, k, n, m)), (17, (k, c, n, m))]
    )
    count = stv([m, n, c, k], ballots, seats=1)
    assert count.elected == [k]
    first, second, third = count.rounds
    assert first.votes == {m: 42, n: 26, c: 15, k: 17}
    assert first.eliminated == [c] and first.transfers == {k: 15}
    assert second.votes == {m: 42, n: 26, k: 32}
    assert second.eliminated == [n] and second.transfers == {k: 26}
    assert third.votes == {m: 42, k: 58} and third.elected == [k]
    assert third.quota == 51  # a majority of the 100 papers still in the count


def test_stv_food_election_with_droop_quota_and_gregory_surplus():
    # Wikipedia's STV example: 20 voters, 3 seats, Droop quota 6.
    orange, pear, choc, straw, bonbon = 1, 2, 3, 4, 5
    ballots = expand(
        [
            (4, (orange,)),
            (2, (pear, orange)),
            (8, (choc, straw)),
            (4, (choc, bonbon)),
            (1, (straw,)),
            (1, (bonbon,)),
        ]
    )
    count = stv([orange, pear, choc, straw, bonbon], ballots, seats=3)
    assert droop_quota(20, 3) == 6 and count.quota == 6
    assert count.elected == [choc, orange, straw]
    first = count.rounds[0]
    assert first.elected == [choc]
    # Surplus 6 of 12: every Chocolate paper moves on at 1/2.
    assert first.transfer_kind == "surplus" and first.transferred_from == choc
    assert first.transfers == {straw: 4, bonbon: 2}
    second = count.rounds[1]
    assert second.votes == {orange: 4, pear: 2, choc: 6, straw: 5, bonbon: 3}
    assert second.eliminated == [pear] and second.transfers == {orange: 2}
    assert count.rounds[2].elected == [orange]
    assert count.rounds[-1].elected[-1] == straw


def test_fractional_transfer_values_are_exact():
    a, b, c = 1, 2, 3
    # 7 papers, 2 seats: quota 3; A has 5, surplus 2 of 5 -> each A paper moves on at 2/5.
    ballots = expand([(5, (a, b)), (1, (c,)), (1, (b,))])
    count = stv([a, b, c], ballots, seats=2)
    assert count.rounds[0].transfers == {b: Fraction(2)}
    assert count.rounds[1].votes[b] == 3
    assert count.elected == [a, b]


def test_ties_are_broken_by_earlier_rounds_then_by_ballot_order():
    a, b, c = 1, 2, 3
    # All tied at every stage: the option listed last is excluded first, so A wins.
    count = stv([a, b, c], [[a], [b], [c]], seats=1)
    assert [r.eliminated for r in count.rounds[:2]] == [[c], [b]]
    assert count.elected == [a]
    # B and C tie in round 2, but C had fewer votes in round 1: C goes.
    d = 4
    ballots = expand([(4, (a,)), (2, (b,)), (1, (c,)), (1, (d, c))])
    count = stv([a, b, c, d], ballots, seats=1)
    assert count.rounds[0].eliminated == [d]  # d and c tied at 1; d is listed later
    assert count.rounds[1].votes == {a: 4, b: 2, c: 2}
    assert count.rounds[1].eliminated == [c]  # tied with B now, but fewer in round 1


def test_exhausted_papers_and_blank_ballots():
    a, b, c = 1, 2, 3
    ballots = [[a], [a], [b], [c, b], [], [c]]
    count = stv([a, b, c], ballots, seats=1)
    assert count.valid == 5  # the empty ballot is blank, not in the count
    first, second, third = count.rounds
    assert first.votes == {a: 2, b: 1, c: 2}
    assert first.eliminated == [b] and first.transferred_to_exhausted == 1
    # A and C tie at 2 in every round: C, listed later, is excluded; its papers exhaust.
    assert second.exhausted == 1 and second.quota == 3
    assert second.eliminated == [c] and second.transfers == {}
    assert second.transferred_to_exhausted == 2
    assert third.votes == {a: 2} and third.exhausted == 3 and third.elected == [a]
    assert count.elected == [a]


def test_no_ranked_ballots_elect_nobody():
    count = stv([1, 2, 3], [[], []], seats=2)
    assert count.valid == 0 and count.elected == [] and count.rounds == []


def test_as_many_candidates_as_seats_are_all_elected_in_the_first_round():
    count = stv([1, 2], [[1], [1], [2]], seats=2)
    assert count.elected == [1, 2] and len(count.rounds) == 1


def test_same_input_same_result():
    import random

    rng = random.Random(7)
    candidates = list(range(1, 9))
    ballots = [rng.sample(candidates, rng.randint(1, 8)) for _ in range(500)]
    first = stv(candidates, ballots, seats=3)
    again = stv(candidates, list(reversed(ballots)), seats=3)
    assert first.elected == again.elected and len(first.elected) == 3
    assert [r.as_dict() for r in first.rounds] == [r.as_dict() for r in again.rounds]


def test_poll_results_counts_percentages_blank_and_turnout(ctx):
    voters = [make_user() for _ in range(5)]
    poll = make_poll(
        questions=(
            ("Approve?", "yes_no", (), 1, 1),
            ("Committee", "multiple", ("Dag", "Eir", "Finn"), 2, 1),
            ("Chair", "ranked", ("Hal", "Ivy", "Jon"), 1, 1),
        )
    )
    approve, committee, chair = poll.questions
    yes, no, abstain = (o.id for o in approve.options)
    dag, eir, finn = (o.id for o in committee.options)
    hal, ivy, jon = (o.id for o in chair.options)
    cast(
        poll,
        voters[0],
        {str(approve.id): [yes], str(committee.id): [dag, eir], str(chair.id): [hal]},
    )
    cast(
        poll,
        voters[1],
        {str(approve.id): [yes], str(committee.id): [dag], str(chair.id): [jon, ivy]},
    )
    cast(poll, voters[2], {str(approve.id): [abstain], str(chair.id): [ivy, hal]})
    cast(poll, voters[3], {})
    results = poll_results(poll)
    assert results["electorate"] >= 5 and results["voted"] == 4 and results["ballots"] == 4
    assert results["turnout_percent"] == round(100 * 4 / results["electorate"], 1)
    q_approve, q_committee, q_chair = results["questions"]
    assert [o["votes"] for o in q_approve["options"]] == [2, 0, 1]
    assert [o["percent"] for o in q_approve["options"]] == [50.0, 0.0, 25.0]
    assert q_approve["blank"] == 1 and q_approve["elected"] == [yes]
    assert [o["votes"] for o in q_committee["options"]] == [2, 1, 0]
    assert q_committee["blank"] == 2
    # Ranked: first preferences 1 each; Jon (listed last) is excluded, his paper goes to Ivy.
    assert [o["votes"] for o in q_chair["options"]] == [1, 1, 1]
    assert q_chair["valid"] == 3 and q_chair["blank"] == 1
    assert q_chair["rounds"][0]["eliminated"] == [jon]
    assert q_chair["elected"] == [ivy]
