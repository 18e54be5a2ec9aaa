"""Poll e-mails: the opening notice to the electorate and the reminder to those not voted yet.

The e-mails go through the outbox in each recipient's language, in batches; every message has a
key per poll and person, so a batch that runs twice sends each e-mail once.
"""

from __future__ import annotations

from sqlalchemy import select

from app.core.http import absolute_url
from app.core.jobs import commit, enqueue_after_commit
from app.core.mail import queue_mail
from app.extensions import db
from app.models import User
from app.polls.models import Elector, Participation, Poll

BATCH = 200


def poll_url(poll_id: int) -> str:
    """The ballot's address, for e-mails (on BASE_URL, never a request's Host)."""
    return absolute_url("polls.ballot", poll_id=poll_id)


def _context(poll: Poll, user: User) -> dict:
    return {
        "name": user.name,
        "poll_title": poll.title,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "secret": poll.secret,
        "poll_url": poll_url(poll.id),
    }


def _electors(poll_id: int, after_id: int, not_voted: bool) -> list[tuple[int, User]]:
    stmt = (
        select(Elector.id, User)
        .join(User, User.id == Elector.user_id)
        .where(
            Elector.poll_id == poll_id,
            Elector.id > after_id,
            User.is_active_account.is_(True),
        )
        .order_by(Elector.id)
        .limit(BATCH)
    )
    if not_voted:
        voted = select(Participation.user_id).where(
            Participation.poll_id == poll_id, Participation.user_id.is_not(None)
        )
        stmt = stmt.where(Elector.user_id.not_in(voted))
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def _send_batch(poll: Poll, after_id: int, template: str, job, not_voted: bool) -> str:
    batch = _electors(poll.id, after_id, not_voted)
    for _elector_id, user in batch:
        queue_mail(
            user.email,
            template,
            user.locale,
            _context(poll, user),
            key=f"{template}:{poll.id}:{user.id}",
            user_id=user.id,
            batch_key=f"{template}:{poll.id}",
        )
    if len(batch) == BATCH:
        last = batch[-1][0]
        enqueue_after_commit(job, poll.id, last, queue="mail", key=f"{template}:{poll.id}:@{last}")
    commit()
    return f"queued {len(batch)}"


def send_opening_mails(poll_id: int, after_id: int = 0) -> str:
    """E-mail every eligible person that the poll is open, with the link; one batch per run."""
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.status != "open":
        return "stale"
    return _send_batch(poll, after_id, "poll_opened", send_opening_mails, not_voted=False)


def send_reminders(poll_id: int, after_id: int = 0) -> str:
    """Remind those in the electorate who have not voted yet; one batch per run."""
    poll = db.session.get(Poll, poll_id)
    if poll is None or not poll.is_open:
        return "stale"
    return _send_batch(poll, after_id, "poll_reminder", send_reminders, not_voted=True)
