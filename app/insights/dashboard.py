"""The staff dashboard: what needs doing now, for the roles the reader holds.

Each part is one or two indexed queries whatever the amount of data (tests/test_insights_dashboard
counts them), so the page stays fast with tens of thousands of members and registrations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.core.security import has_role
from app.core.timeutil import utcnow
from app.events.models import Event, Registration
from app.extensions import db
from app.inbox.models import Conversation
from app.members.models import Membership
from app.polls.models import Participation, Poll

LIST_LENGTH = 5
UPCOMING_DAYS = 14
UNANSWERED_STATES = ("new", "open")


@dataclass
class Part:
    """One part of the dashboard: a count, the oldest item's time, and the first few items."""

    count: int = 0
    oldest: datetime | None = None
    items: list[Any] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)


def pending_applications() -> Part:
    """Applications waiting for a decision, oldest first."""
    waiting = (Membership.status == "applied", Membership.is_test.is_(False))
    count, oldest = db.session.execute(
        select(func.count(), func.min(Membership.applied_at)).where(*waiting)
    ).one()
    items = db.session.execute(
        select(Membership.id, Membership.full_name, Membership.applied_at)
        .where(*waiting)
        .order_by(Membership.applied_at.asc().nulls_last(), Membership.id)
        .limit(LIST_LENGTH)
    ).all()
    return Part(count, oldest, items)


def unanswered_conversations() -> Part:
    """Conversations whose last word is the person's (new or reopened), oldest first."""
    waiting = Conversation.state.in_(UNANSWERED_STATES)
    count, oldest = db.session.execute(
        select(func.count(), func.min(Conversation.last_message_at)).where(waiting)
    ).one()
    items = db.session.execute(
        select(Conversation.id, Conversation.subject, Conversation.last_message_at)
        .where(waiting)
        .order_by(Conversation.last_message_at, Conversation.id)
        .limit(LIST_LENGTH)
    ).all()
    return Part(count, oldest, items)


def failed_work() -> Part:
    """Jobs that failed (and will be retried) or died, and e-mails that could not be sent."""
    counts = dict(
        db.session.execute(
            select(Job.state, func.count())
            .where(Job.state.in_(("failed", "dead")))
            .group_by(Job.state)
        ).all()
    )
    failed_mail = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "failed")
    )
    extra = {"failed": counts.get("failed", 0), "dead": counts.get("dead", 0), "mail": failed_mail}
    return Part(sum(extra.values()), None, [], extra)


def upcoming_events(now: datetime | None = None) -> Part:
    """Published events in the next two weeks with their fill rate and waiting list."""
    now = now or utcnow()
    events = db.session.execute(
        select(Event.id, Event.title, Event.starts_at, Event.capacity, Event.confirmed_count)
        .where(
            Event.status == "published",
            Event.starts_at >= now,
            Event.starts_at < now + timedelta(days=UPCOMING_DAYS),
        )
        .order_by(Event.starts_at, Event.id)
        .limit(20)
    ).all()
    waiting: dict[int, int] = {}
    if events:
        waiting = dict(
            db.session.execute(
                select(Registration.event_id, func.count())
                .where(
                    Registration.event_id.in_([e.id for e in events]),
                    Registration.state == "waiting",
                )
                .group_by(Registration.event_id)
            ).all()
        )
    items = [
        {
            "id": e.id,
            "title": e.title,
            "starts_at": e.starts_at,
            "capacity": e.capacity,
            "confirmed": e.confirmed_count,
            "fill": e.confirmed_count / e.capacity if e.capacity else None,
            "waiting": waiting.get(e.id, 0),
        }
        for e in events
    ]
    return Part(len(items), None, items)


def open_polls() -> Part:
    """Polls open now, closing soonest first, with how many have voted."""
    polls = db.session.execute(
        select(Poll.id, Poll.title, Poll.closes_at, Poll.electorate_size)
        .where(Poll.status == "open")
        .order_by(Poll.closes_at.asc().nulls_last(), Poll.id)
        .limit(20)
    ).all()
    voted: dict[int, int] = {}
    if polls:
        voted = dict(
            db.session.execute(
                select(Participation.poll_id, func.count())
                .where(Participation.poll_id.in_([p.id for p in polls]))
                .group_by(Participation.poll_id)
            ).all()
        )
    items = [
        {
            "id": p.id,
            "title": p.title,
            "closes_at": p.closes_at,
            "electorate": p.electorate_size,
            "voted": voted.get(p.id, 0),
        }
        for p in polls
    ]
    return Part(len(items), None, items)


def dashboard(user) -> dict[str, Part]:
    """The parts of the dashboard the user's roles give them (admin sees every part)."""
    parts: dict[str, Part] = {}
    if has_role(user, "membership"):
        parts["applications"] = pending_applications()
        parts["conversations"] = unanswered_conversations()
        parts["polls"] = open_polls()
    if has_role(user, "organiser"):
        parts["events"] = upcoming_events()
    if has_role(user, "admin"):
        parts["failed_work"] = failed_work()
    return parts
