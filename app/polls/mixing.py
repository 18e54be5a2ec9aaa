"""Mixing the ballots of open secret polls every few minutes (see ballots.mix_ballots)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.jobs import commit
from app.core.periodic import periodic
from app.extensions import db
from app.polls.ballots import mix_ballots
from app.polls.models import Ballot, Poll

MIX_EVERY_SECONDS = 300


@periodic(seconds=MIX_EVERY_SECONDS)
def mix_open_polls() -> int:
    """Mix each open secret poll that has new ballots since its last mix; one transaction each.

    So the order in which ballots sit in the database says at most which ballots came within the
    same few minutes, not who cast which. Safe to run twice: a mix with nothing new is skipped.
    """
    counts = select(Ballot.poll_id, func.count().label("n")).group_by(Ballot.poll_id).subquery()
    due = db.session.scalars(
        select(Poll.id)
        .join(counts, counts.c.poll_id == Poll.id)
        .where(Poll.status == "open", Poll.secret.is_(True), counts.c.n != Poll.mixed_ballots)
    ).all()
    for poll_id in due:
        mix_ballots(db.session.get(Poll, poll_id))
        commit()
    return len(due)
