"""What the door shows: counts, the search by name, the offline bundle, today's events, the
scan log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from app.auth.models import User
from app.checkin.gate import require_event
from app.checkin.models import Scan
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.core.timeutil import local_date, utcnow
from app.events.models import Event, Registration
from app.events.tickets import clean_short_code
from app.extensions import db

registrations = Registration.__table__
users = User.__table__

SEARCH_LIMIT = 20


def counts(event_id: int) -> dict:
    """How many confirmed registrations the event has, and how many are checked in."""
    require_event(event_id)
    confirmed, checked_in = db.session.execute(
        select(
            func.count(),
            func.count(registrations.c.checked_in_at),
        ).where(registrations.c.event_id == event_id, registrations.c.state == "confirmed")
    ).one()
    return {"event_id": event_id, "confirmed": confirmed, "checked_in": checked_in}


def search(event_id: int, query: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Registrations whose name holds the text, or whose ticket has it as its short code: name
    and state only. Never by e-mail address: a volunteer must not learn whose address it is."""
    query = (query or "").strip()[:100]
    if len(query) < 2:
        return []
    matches = registrations.c.name.ilike(contains_pattern(query), escape=LIKE_ESCAPE)
    short = clean_short_code(query)
    if short is not None:
        matches = or_(matches, registrations.c.short_code == short)
    rows = db.session.execute(
        select(
            registrations.c.id,
            registrations.c.name,
            registrations.c.state,
            registrations.c.checked_in_at,
            users.c.name.label("by"),
        )
        .select_from(registrations.outerjoin(users, users.c.id == registrations.c.checked_in_by_id))
        .where(
            registrations.c.event_id == event_id,
            matches,
        )
        .order_by(registrations.c.name, registrations.c.id)
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "name": row.name,
            "state": row.state,
            "checked_in_at": row.checked_in_at.isoformat() if row.checked_in_at else None,
            "checked_in_by": row.by,
        }
        for row in rows
    ]


def offline_bundle(event: Event) -> dict:
    """What a door device keeps for offline scanning: the public key and each ticket's id, short
    code, name and state (confirmed, checked_in, cancelled or waiting) - nothing more."""
    rows = db.session.execute(
        select(
            registrations.c.ticket_code,
            registrations.c.short_code,
            registrations.c.name,
            registrations.c.state,
            registrations.c.checked_in_at,
        ).where(registrations.c.event_id == event.id, registrations.c.ticket_code.is_not(None))
    ).all()
    tickets = []
    for row in rows:
        parts = row.ticket_code.split(".")
        if len(parts) != 3:
            continue
        state = "checked_in" if row.checked_in_at is not None else row.state
        tickets.append(
            {"ticket": parts[1], "short": row.short_code, "name": row.name, "state": state}
        )
    return {
        "event_id": event.id,
        "public_key": event.public_key,
        "generated_at": utcnow().isoformat(),
        # A device drops the bundle a day after this (app/static/js/door.js, dropOldBundles).
        "ends_at": event.ends_at.isoformat(),
        "tickets": tickets,
    }


def door_events(now: datetime | None = None) -> list[Event]:
    """Published events a volunteer may scan: running or starting today first, then upcoming."""
    now = now or utcnow()
    today = local_date(now)
    rows = db.session.scalars(
        select(Event)
        .where(Event.status == "published", Event.ends_at >= now - timedelta(hours=6))
        .order_by(Event.starts_at)
        .limit(100)
    ).all()

    def today_first(event: Event):
        running = event.starts_at <= now <= event.ends_at
        is_today = local_date(event.starts_at) == today
        return (0 if running or is_today else 1, event.starts_at)

    return sorted(rows, key=today_first)


def is_today(event: Event, now: datetime | None = None) -> bool:
    """True when the event runs now or starts today in the organisation's timezone."""
    now = now or utcnow()
    return event.starts_at <= now <= event.ends_at or local_date(event.starts_at) == local_date(now)


def scan_log(event_id: int):
    """The event's scans, newest first (a select for db.paginate)."""
    return (
        select(Scan)
        .where(Scan.event_id == event_id)
        .order_by(Scan.created_at.desc(), Scan.id.desc())
    )
