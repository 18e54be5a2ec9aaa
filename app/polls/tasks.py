"""Background work for polls: the clock (scheduled opening and closing, reminders).

The e-mails themselves are jobs in app/polls/mails.py.
"""

from __future__ import annotations

import logging

from app.core.errors import DomainError
from app.core.jobs import commit, enqueue_after_commit
from app.core.periodic import periodic
from app.core.timeutil import utcnow
from app.extensions import db
from app.polls import setup
from app.polls.mails import send_reminders
from app.polls.models import Poll

log = logging.getLogger(__name__)


@periodic(seconds=60)
def poll_clock() -> str:
    """Open scheduled polls whose time has come, close those past their closing time, and ask
    for due reminders. Each poll in a transaction of its own, so one failure stops no other."""
    now = utcnow()
    opened = closed = reminded = 0
    for poll_id in setup.due_to_open(now):
        poll = db.session.get(Poll, poll_id)
        try:
            setup.open_poll(poll)
        except DomainError as exc:  # e.g. its closing time passed while it waited: leave it
            db.session.rollback()
            log.warning("Poll %s not opened by the clock: %s", poll_id, exc)
            continue
        commit()
        opened += 1
    for poll_id in setup.due_to_close(utcnow()):
        poll = db.session.get(Poll, poll_id)
        try:
            setup.close_poll(poll)
        except DomainError:  # closed by hand in the meantime
            db.session.rollback()
            continue
        commit()
        closed += 1
    for poll_id in setup.due_for_reminder(utcnow()):
        if setup.mark_reminder(poll_id, utcnow()):
            enqueue_after_commit(send_reminders, poll_id, queue="mail")
            reminded += 1
        commit()
    return f"opened {opened}, closed {closed}, reminders {reminded}"
