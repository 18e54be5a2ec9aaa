"""Event statistics, grouped in the database: rows of (key, [values]) for charts.py to label.

Events count when they start within the period; drafts are left out.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from app.core.timeutil import utcnow
from app.events.models import Event, Registration
from app.extensions import db
from app.insights.periods import Period
from app.insights.sql import days_between, later_by, seconds_between, whole_steps

EVENT_ROWS = 40
DAYS_SHOWN = 60
ARRIVAL_STEP = 300  # seconds: arrivals are counted per 5 minutes
# A registration confirmed more than this many seconds after it was made waited for its seat:
# confirming at once happens in the same request (see events/registrations.py).
PROMOTED_AFTER = 60


def _events_in(period: Period):
    return and_(
        Event.status != "draft",
        Event.starts_at >= period.start_at,
        Event.starts_at < period.end_at,
    )


def _event_key(event) -> tuple:
    return (event.id, event.title, event.starts_at)


def _count(state: str):
    return func.count(case((Registration.state == state, 1)))


def fill(period: Period) -> list:
    """Per event: confirmed, waiting and the capacity."""
    rows = db.session.execute(
        select(Event.id, Event.title, Event.starts_at, Event.capacity, Event.confirmed_count)
        .where(_events_in(period))
        .order_by(Event.starts_at, Event.id)
        .limit(EVENT_ROWS)
    ).all()
    waiting = dict(
        db.session.execute(
            select(Registration.event_id, func.count())
            .where(
                Registration.event_id.in_([r.id for r in rows]),
                Registration.state == "waiting",
            )
            .group_by(Registration.event_id)
        ).all()
    )
    return [(_event_key(r), [r.confirmed_count, waiting.get(r.id, 0), r.capacity]) for r in rows]


def promotions(period: Period) -> list:
    """Per event with a waiting list in use: people promoted from it, and those still waiting."""
    promoted = func.count(
        case(
            (
                and_(
                    Registration.state == "confirmed",
                    later_by(Registration.confirmed_at, Registration.created_at, PROMOTED_AFTER),
                ),
                1,
            )
        )
    )
    waiting = _count("waiting")
    rows = db.session.execute(
        select(Event.id, Event.title, Event.starts_at, promoted, waiting)
        .join(Registration, Registration.event_id == Event.id)
        .where(_events_in(period))
        .group_by(Event.id, Event.title, Event.starts_at)
        .having((promoted + waiting) > 0)
        .order_by(Event.starts_at, Event.id)
        .limit(EVENT_ROWS)
    ).all()
    return [(_event_key(r), [r[3], r[4]]) for r in rows]


def no_shows(period: Period) -> list:
    """Per event that has ended: checked in, confirmed but not checked in, and that as a percent."""
    checked_in = func.count(Registration.checked_in_at)
    confirmed = _count("confirmed")
    rows = db.session.execute(
        select(Event.id, Event.title, Event.starts_at, confirmed, checked_in)
        .join(Registration, Registration.event_id == Event.id)
        .where(_events_in(period), Event.ends_at < utcnow(), Event.status == "published")
        .group_by(Event.id, Event.title, Event.starts_at)
        .order_by(Event.starts_at, Event.id)
        .limit(EVENT_ROWS)
    ).all()
    result = []
    for r in rows:
        confirmed_n, arrived = r[3], r[4]
        missing = confirmed_n - arrived
        rate = round(100.0 * missing / confirmed_n, 1) if confirmed_n else 0
        result.append((_event_key(r), [arrived, missing, rate]))
    return result


def days_before(period: Period, event_id: int | None = None) -> list:
    """Registrations made each calendar day before the start day (-1: after the start), for
    the events in the period or for one event."""
    days = days_between(Registration.created_at, Event.starts_at)
    bucket = case(
        (Registration.created_at > Event.starts_at, -1),
        (days > DAYS_SHOWN, DAYS_SHOWN),
        else_=days,
    )
    where = [Registration.event_id == event_id] if event_id else [_events_in(period)]
    counts = dict(
        db.session.execute(
            select(bucket, func.count())
            .select_from(Registration)
            .join(Event, Event.id == Registration.event_id)
            .where(*where)
            .group_by(bucket)
        ).all()
    )
    if not counts:
        return []
    furthest = max(counts)
    keys = list(range(furthest, -1, -1)) + ([-1] if -1 in counts else [])
    return [(day, [counts.get(day, 0)]) for day in keys]


def arrivals(event: Event) -> list:
    """Check-ins per 5 minutes from the event's start (negative: before it), gaps filled."""
    step = whole_steps(seconds_between(Event.starts_at, Registration.checked_in_at), ARRIVAL_STEP)
    counts = dict(
        db.session.execute(
            select(step, func.count())
            .select_from(Registration)
            .join(Event, Event.id == Registration.event_id)
            .where(Registration.event_id == event.id, Registration.checked_in_at.is_not(None))
            .group_by(step)
        ).all()
    )
    if not counts:
        return []
    return [(n, [counts.get(n, 0)]) for n in range(min(counts), max(counts) + 1)]
