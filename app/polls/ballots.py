"""Casting a ballot: validation, exactly one per elector, secret ballots and their receipts.

The guard against double votes is in the database: a `Participation` row with a unique
(poll_id, user_id) is inserted in the same transaction as the ballot; a second submission by the
same person waits on that unique index until the first commits, then fails, and is refused.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import DomainError
from app.core.timeutil import utcnow
from app.extensions import db
from app.polls.electorate import eligible
from app.polls.models import (
    Ballot,
    BallotChoice,
    Participation,
    Poll,
    PollQuestion,
    new_ballot_id,
)

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed back
RECEIPT_LENGTH = 16  # 80 bits of randomness


class BallotError(DomainError):
    """A ballot that cannot be accepted; nothing was changed."""


class NotEligible(BallotError):
    status = 403
    code = "not_eligible"


class AlreadyVoted(BallotError):
    status = 409
    code = "already_voted"


class PollClosed(BallotError):
    status = 409
    code = "closed"


class InvalidBallot(BallotError):
    status = 422
    code = "invalid"


@dataclass(frozen=True)
class Choice:
    """One chosen option: its question, and its rank (1 = first preference)."""

    question_id: int
    option_id: int
    rank: int


def new_receipt() -> str:
    """A random receipt code, shown once to the voter, e.g. 'K7QX-M2PA-9TZR-C4HD'."""
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def normalise_receipt(code: str) -> str:
    """The receipt as stored for hashing: upper case, without spaces or dashes."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def receipt_hash(code: str) -> str:
    """SHA-256 (hex) of a receipt; only this is kept, on the ballot."""
    return hashlib.sha256(normalise_receipt(code).encode()).hexdigest()


def receipt_counted(poll: Poll, code: str) -> bool:
    """Whether a ballot with this receipt is among the poll's ballots."""
    if len(normalise_receipt(code)) != RECEIPT_LENGTH:
        return False
    return (
        db.session.scalar(
            select(Ballot.id).where(
                Ballot.poll_id == poll.id, Ballot.receipt_hash == receipt_hash(code)
            )
        )
        is not None
    )


def has_voted(poll: Poll, user) -> bool:
    """Whether this person has a participation row in the poll."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            select(Participation.id).where(
                Participation.poll_id == poll.id, Participation.user_id == user.id
            )
        )
        is not None
    )


def voted_poll_ids(user, poll_ids: Sequence[int]) -> set[int]:
    """Of these polls, the ones this person has voted in (one query)."""
    if not poll_ids:
        return set()
    return set(
        db.session.scalars(
            select(Participation.poll_id).where(
                Participation.user_id == user.id, Participation.poll_id.in_(poll_ids)
            )
        )
    )


def _ids(values, question: PollQuestion) -> list[int]:
    if values is None:
        return []
    if isinstance(values, (str, int)) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise InvalidBallot(
            _l("The answer to a question is not a list of options."), field=str(question.id)
        )
    ids = []
    for value in values:
        if isinstance(value, bool):
            raise InvalidBallot(
                _l("An option on the ballot is not one of the question's options."),
                field=str(question.id),
            )
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise InvalidBallot(
                _l("An option on the ballot is not one of the question's options."),
                field=str(question.id),
            ) from None
    return ids


def validate(poll: Poll, answers: Mapping) -> list[Choice]:
    """Check the answers against each question's rules; a missing or empty answer is blank."""
    if not isinstance(answers, Mapping):
        raise InvalidBallot(_l("The ballot is not understood."))
    questions = {str(q.id): q for q in poll.questions}
    for key in answers:
        if str(key) not in questions:
            raise InvalidBallot(_l("The ballot answers a question this poll does not have."))
    choices: list[Choice] = []
    for key, question in questions.items():
        raw = answers.get(key, answers.get(question.id))
        ids = _ids(raw, question)
        valid = {option.id for option in question.options}
        if any(option_id not in valid for option_id in ids):
            raise InvalidBallot(
                _l("An option on the ballot is not one of the question's options."), field=key
            )
        if len(set(ids)) != len(ids):
            raise InvalidBallot(_l("An option is chosen or ranked more than once."), field=key)
        if question.kind in ("yes_no", "single") and len(ids) > 1:
            raise InvalidBallot(_l("Choose one option at most."), field=key)
        if question.kind == "multiple" and len(ids) > question.max_choices:
            raise InvalidBallot(
                _l("Choose at most %(count)d options.", count=question.max_choices), field=key
            )
        # Ranked: the order given is the preference order; other kinds keep it only as a key.
        choices.extend(
            Choice(question_id=question.id, option_id=option_id, rank=rank)
            for rank, option_id in enumerate(ids, start=1)
        )
    return choices


def ranking_from_ranks(question: PollQuestion, ranks: Mapping[int, int]) -> list[int]:
    """Option ids in preference order from {option id: rank number} (a form's rank selects).

    Options without a rank are left out; two options with the same rank are refused.
    """
    given = {option_id: rank for option_id, rank in ranks.items() if rank}
    if len(set(given.values())) != len(given):
        raise InvalidBallot(_l("Two options have the same rank."), field=str(question.id))
    return [option_id for option_id, _rank in sorted(given.items(), key=lambda item: item[1])]


def _lock_open_poll(poll: Poll) -> None:
    """Refuse unless the poll is open; the row is share-locked so a close waits for this ballot."""
    row = db.session.execute(
        select(Poll.status, Poll.closes_at).where(Poll.id == poll.id).with_for_update(read=True)
    ).one_or_none()
    if row is None:
        raise PollClosed(_l("This poll is closed."))
    if row.status != "open" or (row.closes_at is not None and utcnow() >= row.closes_at):
        raise PollClosed(_l("This poll is closed."))


def _store(poll: Poll, user_id: int | None, choices: list[Choice], code: str) -> None:
    ballot_id = new_ballot_id()
    db.session.execute(
        insert(Ballot).values(
            id=ballot_id, poll_id=poll.id, receipt_hash=receipt_hash(code), user_id=user_id
        )
    )
    if choices:
        db.session.execute(
            insert(BallotChoice),
            [
                {
                    "ballot_id": ballot_id,
                    "option_id": c.option_id,
                    "question_id": c.question_id,
                    "rank": c.rank,
                }
                for c in choices
            ],
        )


def _participate(poll: Poll, user) -> bool:
    """Insert the participation row; False when this person has one already (the guard)."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Participation).values(poll_id=poll.id, user_id=user.id))
    except IntegrityError:
        return False
    return True


def _change(poll: Poll, user, choices: list[Choice]) -> str:
    """Replace an open ballot's choices (polls that allow a change of vote); a new receipt."""
    ballot = db.session.scalar(
        select(Ballot).where(Ballot.poll_id == poll.id, Ballot.user_id == user.id).with_for_update()
    )
    if ballot is None:  # voted, but the ballot is gone (cannot happen while the poll is open)
        raise AlreadyVoted(_l("You have already voted in this poll."))
    code = new_receipt()
    db.session.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot.id))
    ballot.receipt_hash = receipt_hash(code)
    db.session.flush()
    if choices:
        db.session.execute(
            insert(BallotChoice),
            [
                {
                    "ballot_id": ballot.id,
                    "option_id": c.option_id,
                    "question_id": c.question_id,
                    "rank": c.rank,
                }
                for c in choices
            ],
        )
    return code


def cast(poll: Poll, user, answers: Mapping) -> str:
    """Cast the user's ballot in the poll; returns the receipt code (shown once, never stored).

    Raises PollClosed, NotEligible, InvalidBallot or AlreadyVoted; then nothing is changed.
    """
    _lock_open_poll(poll)
    if not eligible(poll, user):
        raise NotEligible(_l("You are not in this poll's electorate."))
    choices = validate(poll, answers)
    if not _participate(poll, user):
        if not poll.secret and poll.may_change_vote:
            return _change(poll, user, choices)
        raise AlreadyVoted(_l("You have already voted in this poll."))
    code = new_receipt()
    _store(poll, None if poll.secret else user.id, choices, code)
    db.session.flush()
    return code


def my_answers(poll: Poll, user) -> dict[int, list[int]]:
    """An open ballot's answers of this person, {question id: option ids in rank order}."""
    if poll.secret:
        return {}
    rows = db.session.execute(
        select(BallotChoice.question_id, BallotChoice.option_id)
        .join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .where(Ballot.poll_id == poll.id, Ballot.user_id == user.id)
        .order_by(BallotChoice.question_id, BallotChoice.rank)
    ).all()
    answers: dict[int, list[int]] = {}
    for question_id, option_id in rows:
        answers.setdefault(question_id, []).append(option_id)
    return answers


def mix_ballots(poll: Poll) -> int:
    """Rewrite a secret poll's ballots in random order, with new keys, in one transaction.

    PostgreSQL stores new rows in the order they come and stamps each with its transaction id,
    so until ballots are mixed a database administrator could pair the n-th ballot with the
    n-th participation. Rewriting them all at once in a random order gives them one transaction
    id and an order unrelated to the voting order. Run on closing, and every few minutes while
    a poll with new ballots is open (mixing.mix_open_polls). Returns how many were rewritten.
    """
    if not poll.secret:
        return 0
    # One mix at a time per poll (closing and the periodic mix); ballots being cast wait.
    # (FOR NO KEY UPDATE: it conflicts with that and with a cast's FOR SHARE.)
    db.session.execute(select(Poll.id).where(Poll.id == poll.id).with_for_update(key_share=True))
    ballots = db.session.execute(
        select(Ballot.id, Ballot.receipt_hash).where(Ballot.poll_id == poll.id)
    ).all()
    if not ballots:
        return 0
    choices = db.session.execute(
        select(
            BallotChoice.ballot_id,
            BallotChoice.option_id,
            BallotChoice.question_id,
            BallotChoice.rank,
        )
        .join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .where(Ballot.poll_id == poll.id)
    ).all()
    by_ballot: dict[str, list] = {}
    for row in choices:
        by_ballot.setdefault(row.ballot_id, []).append(row)
    order = list(ballots)
    random.SystemRandom().shuffle(order)
    new_ids = {old.id: new_ballot_id() for old in order}
    old_ids = [b.id for b in order]
    db.session.execute(delete(BallotChoice).where(BallotChoice.ballot_id.in_(old_ids)))
    db.session.execute(delete(Ballot).where(Ballot.id.in_(old_ids)))
    db.session.execute(
        insert(Ballot),
        [
            {
                "id": new_ids[b.id],
                "poll_id": poll.id,
                "receipt_hash": b.receipt_hash,
                "user_id": None,
            }
            for b in order
        ],
    )
    rows = [
        {
            "ballot_id": new_ids[b.id],
            "option_id": c.option_id,
            "question_id": c.question_id,
            "rank": c.rank,
        }
        for b in order
        for c in by_ballot.get(b.id, [])
    ]
    if rows:
        db.session.execute(insert(BallotChoice), rows)
    poll.mixed_ballots = len(order)
    db.session.flush()
    return len(order)
