"""Results computed from the ballots: counts, percentages, blank, turnout, and ranked counts.

Ranked questions are counted by the Single Transferable Vote with the Droop quota
(floor(valid / (seats + 1)) + 1) and the Weighted Inclusive Gregory Method (as in the Scottish
local-government STV rules): when a candidate is elected with a surplus, *all* their papers move
on to the next continuing preference at their current value times surplus / total, in exact
fractions (no rounding). An excluded candidate's papers move on at their current value. Papers
with no continuing preference left are exhausted. With one seat the quota is a majority of the
papers still in the count, which is instant runoff.

Each stage elects every hopeful at or above the quota, then either transfers the largest
untransferred surplus or, when there is none, excludes the hopeful with the fewest votes. When as
many hopefuls remain as seats are open, they are all elected.

Ties (deterministic): between candidates with equal votes, the one with fewer votes at the
latest earlier stage where they differed counts as lower (backwards tie-break); if they were
equal at every stage, the one listed later on the ballot counts as lower. The lower is excluded
first; the higher is elected first and has its surplus transferred first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import func, or_, select, true

from app.extensions import db
from app.polls.models import Ballot, BallotChoice, Participation, Poll, PollQuestion


@dataclass
class Round:
    """One stage of a ranked count: the votes at its start and what was done."""

    number: int
    votes: dict[int, Fraction]
    exhausted: Fraction
    quota: Fraction
    elected: list[int] = field(default_factory=list)
    eliminated: list[int] = field(default_factory=list)
    transferred_from: int | None = None
    transfer_kind: str | None = None  # "surplus" or "exclusion"
    transfers: dict[int, Fraction] = field(default_factory=dict)
    transferred_to_exhausted: Fraction = Fraction(0)

    def as_dict(self) -> dict:
        """JSON-friendly (votes as floats rounded to 4 places)."""
        return {
            "number": self.number,
            "votes": {str(k): _num(v) for k, v in self.votes.items()},
            "exhausted": _num(self.exhausted),
            "quota": _num(self.quota),
            "elected": self.elected,
            "eliminated": self.eliminated,
            "transferred_from": self.transferred_from,
            "transfer_kind": self.transfer_kind,
            "transfers": {str(k): _num(v) for k, v in self.transfers.items()},
            "transferred_to_exhausted": _num(self.transferred_to_exhausted),
        }


@dataclass
class RankedCount:
    """The outcome of a ranked count."""

    seats: int
    valid: int
    quota: Fraction
    elected: list[int]
    rounds: list[Round]


def _num(value: Fraction) -> float | int:
    return int(value) if value.denominator == 1 else round(float(value), 4)


def droop_quota(valid: int, seats: int) -> int:
    """The Droop quota: the smallest whole number of votes that only `seats` people can reach."""
    return valid // (seats + 1) + 1


def stv(candidates: Sequence[int], ballots: Iterable[Sequence[int]], seats: int = 1) -> RankedCount:
    """Count ranked ballots (candidate ids in preference order) for `seats` seats.

    `candidates` is in ballot order (used for the last tie-break). Empty ballots are not valid.
    """
    order = {c: n for n, c in enumerate(candidates)}
    grouped: dict[tuple[int, ...], int] = defaultdict(int)
    for ranking in ballots:
        ranking = tuple(c for c in ranking if c in order)
        if ranking:
            grouped[ranking] += 1
    papers = list(grouped.items())
    valid = sum(count for _ranking, count in papers)
    seats = max(1, min(seats, len(candidates)))
    weight = [Fraction(count) for _ranking, count in papers]
    rankings = [ranking for ranking, _count in papers]
    position = [0] * len(papers)  # index in the ranking of the candidate holding the paper

    hopeful = set(candidates)
    elected: list[int] = []
    pending_surplus: list[int] = []
    piles: dict[int, list[int]] = {c: [] for c in candidates}
    totals: dict[int, Fraction] = {c: Fraction(0) for c in candidates}
    exhausted = Fraction(0)
    history: list[dict[int, Fraction]] = []

    def place(paper: int, start: int) -> int | None:
        ranking = rankings[paper]
        for index in range(start, len(ranking)):
            if ranking[index] in hopeful:
                position[paper] = index
                return ranking[index]
        return None

    for paper in range(len(papers)):
        holder = place(paper, 0)
        if holder is not None:
            piles[holder].append(paper)
            totals[holder] += weight[paper]

    def sort_key(candidate: int):
        # Higher is better: votes now, then votes at earlier stages latest first, then ballot order.
        past = tuple(stage.get(candidate, Fraction(0)) for stage in reversed(history))
        return (totals[candidate], past, -order[candidate])

    def transfer(source: int, factor: Fraction, stage: Round) -> None:
        nonlocal exhausted
        moved: dict[int, Fraction] = defaultdict(Fraction)
        lost = Fraction(0)
        for paper in piles[source]:
            weight[paper] *= factor
            holder = place(paper, position[paper] + 1)
            if holder is None:
                lost += weight[paper]
            else:
                piles[holder].append(paper)
                totals[holder] += weight[paper]
                moved[holder] += weight[paper]
        piles[source] = []
        exhausted += lost
        stage.transfers = dict(moved)
        stage.transferred_to_exhausted = lost

    fixed_quota = Fraction(droop_quota(valid, seats))
    rounds: list[Round] = []
    if not valid:  # nobody ranked anyone: nobody is elected by a tie-break
        return RankedCount(seats=seats, valid=0, quota=fixed_quota, elected=[], rounds=[])
    while len(elected) < seats:
        if seats == 1:
            continuing = sum((totals[c] for c in hopeful), Fraction(0))
            quota = Fraction(int(continuing / 2) + 1) if continuing else fixed_quota
        else:
            quota = fixed_quota
        stage = Round(
            number=len(rounds) + 1,
            votes={c: totals[c] for c in candidates if c in hopeful or c in elected},
            exhausted=exhausted,
            quota=quota,
        )
        rounds.append(stage)
        reached = sorted((c for c in hopeful if totals[c] >= quota), key=sort_key, reverse=True)
        for candidate in reached[: seats - len(elected)]:
            hopeful.discard(candidate)
            elected.append(candidate)
            stage.elected.append(candidate)
            pending_surplus.append(candidate)
        if len(elected) >= seats:
            break
        if len(hopeful) <= seats - len(elected):
            for candidate in sorted(hopeful, key=sort_key, reverse=True):
                elected.append(candidate)
                stage.elected.append(candidate)
            hopeful.clear()
            break
        surpluses = [c for c in pending_surplus if totals[c] > quota]
        if surpluses:
            source = max(surpluses, key=sort_key)
            pending_surplus.remove(source)
            total = totals[source]
            surplus = total - quota
            totals[source] = quota
            stage.transferred_from, stage.transfer_kind = source, "surplus"
            transfer(source, surplus / total, stage)
        else:
            pending_surplus.clear()
            source = min(hopeful, key=sort_key)
            hopeful.discard(source)
            stage.eliminated.append(source)
            stage.transferred_from, stage.transfer_kind = source, "exclusion"
            totals[source] = Fraction(0)
            transfer(source, Fraction(1), stage)
        history.append(dict(stage.votes))
    return RankedCount(seats=seats, valid=valid, quota=fixed_quota, elected=elected, rounds=rounds)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass
class PollCounts:
    """A poll's counts for every question, read in at most three statements however many
    questions it has: votes per (question, option) (first preferences for a ranked question),
    the ballots that answered each question, and each ranked question's rankings."""

    votes: dict[tuple[int, int], int]
    answered: dict[int, int]
    rankings: dict[int, list[list[int]]]

    @classmethod
    def read(cls, questions: Sequence[PollQuestion]) -> PollCounts:
        ids = [q.id for q in questions]
        ranked = [q.id for q in questions if q.kind == "ranked"]
        if not ids:
            return cls({}, {}, {})
        choice = BallotChoice
        counted = or_(choice.rank == 1, choice.question_id.not_in(ranked)) if ranked else true()
        votes = db.session.execute(
            select(choice.question_id, choice.option_id, func.count())
            .where(choice.question_id.in_(ids), counted)
            .group_by(choice.question_id, choice.option_id)
        )
        answered = db.session.execute(
            select(choice.question_id, func.count(func.distinct(choice.ballot_id)))
            .where(choice.question_id.in_(ids))
            .group_by(choice.question_id)
        )
        return cls({(q, o): n for q, o, n in votes}, dict(answered.all()), ranked_ballots(ranked))


def ranked_ballots(question_ids: Sequence[int]) -> dict[int, list[list[int]]]:
    """Every ballot's ranking for each of the questions (option ids, first preference first)."""
    if not question_ids:
        return {}
    rows = db.session.execute(
        select(BallotChoice.question_id, BallotChoice.ballot_id, BallotChoice.option_id)
        .where(BallotChoice.question_id.in_(question_ids))
        .order_by(BallotChoice.question_id, BallotChoice.ballot_id, BallotChoice.rank)
    )
    rankings: dict[int, dict[str, list[int]]] = {q: {} for q in question_ids}
    for question_id, ballot_id, option_id in rows:
        rankings[question_id].setdefault(ballot_id, []).append(option_id)
    return {q: list(by_ballot.values()) for q, by_ballot in rankings.items()}


def question_results(question: PollQuestion, ballots_cast: int, counts: PollCounts) -> dict:
    """Counts per option (first preferences for ranked), blank, and the ranked count's rounds."""
    votes = {o.id: counts.votes.get((question.id, o.id), 0) for o in question.options}
    blank = max(ballots_cast - counts.answered.get(question.id, 0), 0)
    result = {
        "id": question.id,
        "text": question.text,
        "kind": question.kind,
        "seats": question.seats,
        "max_choices": question.max_choices,
        "ballots": ballots_cast,
        "blank": blank,
        "blank_percent": _percent(blank, ballots_cast),
        "options": [
            {
                "id": option.id,
                "text": option.text,
                "value": option.value,
                "votes": votes[option.id],
                "percent": _percent(votes[option.id], ballots_cast),
            }
            for option in question.options
        ],
        "rounds": [],
        "elected": [],
    }
    if question.kind == "ranked":
        rankings = counts.rankings[question.id]
        count = stv([o.id for o in question.options], rankings, question.seats)
        result["rounds"] = [stage.as_dict() for stage in count.rounds]
        result["elected"] = count.elected
        result["quota"] = _num(count.quota)
        result["valid"] = count.valid
    else:
        # The option(s) with the most votes; an abstention never "wins".
        counted = [o for o in result["options"] if o["value"] != "abstain"]
        top = max((o["votes"] for o in counted), default=0)
        if top:
            result["elected"] = [o["id"] for o in counted if o["votes"] == top]
    return result


def poll_results(poll: Poll) -> dict:
    """The results of a poll: electorate, turnout, and per question counts, percentages, rounds.

    Percentages are of the ballots cast (blank ones included), so a question's options and its
    blank share add up to 100 (for multiple choice, each option's share of the voters).
    """
    counts = PollCounts.read(poll.questions)
    ballots_cast = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.poll_id == poll.id)
    )
    voted = db.session.scalar(
        select(func.count()).select_from(Participation).where(Participation.poll_id == poll.id)
    )
    return {
        "poll_id": poll.id,
        "electorate": poll.electorate_size,
        "voted": voted,
        "ballots": ballots_cast,
        "turnout_percent": _percent(voted, poll.electorate_size),
        "questions": [question_results(q, ballots_cast, counts) for q in poll.questions],
    }
