"""The polls part of the personal data export (/account/data.json) and of anonymisation."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.polls.models import Ballot, BallotChoice, Elector, Participation, Poll


def personal_data(user) -> dict:
    """The polls the person took part in; their answers only where the ballot was open.

    A secret ballot has no link to its voter, so it cannot be part of anyone's export.
    """
    polls = db.session.scalars(
        select(Poll)
        .join(Participation, Participation.poll_id == Poll.id)
        .where(Participation.user_id == user.id)
        .order_by(Poll.id)
    ).all()
    open_answers: dict[int, dict[str, list[str]]] = {}
    rows = db.session.execute(
        select(Ballot.poll_id, BallotChoice.question_id, BallotChoice.option_id)
        .join(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.user_id == user.id)
        .order_by(Ballot.poll_id, BallotChoice.question_id, BallotChoice.rank)
    ).all()
    for poll_id, question_id, option_id in rows:
        open_answers.setdefault(poll_id, {}).setdefault(str(question_id), []).append(option_id)
    result = []
    for poll in polls:
        entry = {
            "poll_id": poll.id,
            "title": poll.title,
            "status": poll.status,
            "secret": poll.secret,
            "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        }
        if not poll.secret:
            texts = {o.id: o.value or o.text for q in poll.questions for o in q.options}
            questions = {q.id: q.text for q in poll.questions}
            entry["answers"] = [
                {
                    "question_id": int(question_id),
                    "question": questions.get(int(question_id), ""),
                    "options": [texts.get(option_id, "") for option_id in option_ids],
                }
                for question_id, option_ids in open_answers.get(poll.id, {}).items()
            ]
        result.append(entry)
    return {"polls": result}


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
