"""The polls part of the personal data export (/account/data.json) and of anonymisation."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.polls.models import (
    Ballot,
    BallotChoice,
    Elector,
    Participation,
    Poll,
    PollQuestion,
)


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """The polls I may vote or could vote in, those I voted in, my answers on open ballots, and
    the polls I created. A secret ballot has no link to its voter, so it is in nobody's export."""
    voted = db.session.scalars(
        select(Poll)
        .join(Participation, Participation.poll_id == Poll.id)
        .where(Participation.user_id == user.id)
        .order_by(Poll.id)
    ).all()
    eligible = db.session.execute(
        select(Poll.id, Poll.title)
        .join(Elector, Elector.poll_id == Poll.id)
        .where(Elector.user_id == user.id)
        .order_by(Poll.id)
    ).all()
    created = db.session.execute(
        select(Poll.id, Poll.title, Poll.created_at)
        .where(Poll.created_by_id == user.id)
        .order_by(Poll.id)
    ).all()
    rows = db.session.execute(
        select(Ballot.poll_id, BallotChoice.question_id, BallotChoice.option_id)
        .join(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.user_id == user.id)
        .order_by(Ballot.poll_id, BallotChoice.question_id, BallotChoice.rank)
    ).all()
    chosen: dict[tuple[int, int], list[int]] = {}
    for poll_id, question_id, option_id in rows:
        chosen.setdefault((poll_id, question_id), []).append(option_id)
    answers = []
    if chosen:
        questions = {
            q.id: q
            for q in db.session.scalars(
                select(PollQuestion).where(PollQuestion.id.in_({q for _p, q in chosen}))
            )
        }
        for (poll_id, question_id), option_ids in chosen.items():
            question = questions[question_id]
            texts = {o.id: o.value or o.text for o in question.options}
            answers.append(
                {
                    "poll_id": poll_id,
                    "question_id": question_id,
                    "question": question.text,
                    "options": [texts.get(option_id, "") for option_id in option_ids],
                }
            )
    return {
        "polls_voted_in": [
            {
                "poll_id": poll.id,
                "title": poll.title,
                "status": poll.status,
                "secret": poll.secret,
                "closes_at": _iso(poll.closes_at),
            }
            for poll in voted
        ],
        "poll_answers": answers,
        "polls_eligible": [{"poll_id": pid, "title": title} for pid, title in eligible],
        "polls_created": [
            {"poll_id": pid, "title": title, "created_at": _iso(at)} for pid, title, at in created
        ],
    }


def forget_voter(user_id: int) -> None:
    """Anonymisation: unlink the person from electorates, participations and open ballots.

    The rows stay (with no user), so turnout and results do not change.
    """
    for model in (Elector, Participation, Ballot):
        db.session.execute(
            update(model)
            .where(model.user_id == user_id)
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )
