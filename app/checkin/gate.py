"""The gate: which events the door serves. An event's public key (cached per process), whether
the event exists, and whether its door is open (published, and not over for more than a day)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from app.core.errors import Conflict, NotFound
from app.core.timeutil import utcnow
from app.events.models import Event
from app.events.tickets import verify
from app.extensions import db


def _key_cache() -> dict[int, str]:
    return current_app.extensions.setdefault("checkin_public_keys", {})


def _load_public_key(event_id: int) -> str | None:
    key = db.session.scalar(select(Event.public_key).where(Event.id == event_id))
    cache = _key_cache()
    if len(cache) > 1000:
        cache.clear()
    if key is not None:
        cache[event_id] = key
    else:
        cache.pop(event_id, None)
    return key


def public_key(event_id: int) -> str | None:
    """The event's public key (cached per process: a key pair belongs to its event for good)."""
    key = _key_cache().get(event_id)
    return key if key is not None else _load_public_key(event_id)


def signature_valid(parsed) -> bool:
    """True when the code's Ed25519 signature is its event's."""
    key = public_key(parsed.event_id)
    if key is None:
        return False
    if verify(parsed, key):
        return True
    # A cached key may be stale (an event re-keyed, or a reused id): ask the database once more.
    fresh = _load_public_key(parsed.event_id)
    return fresh is not None and fresh != key and verify(parsed, fresh)


def require_event(event_id: int) -> None:
    """NotFound unless the event exists."""
    if public_key(event_id) is None:
        raise NotFound(_l("No such event."))


class DoorClosed(Conflict):
    """The event is not one the door scans: a draft, cancelled, or over for more than a day."""

    code = "door_closed"


# How long after its end an event's door still scans (late arrivals, a device syncing its queue).
DOOR_OPEN_AFTER_END = timedelta(days=1)


def door_closed_reason(
    status: str, ends_at: datetime, now: datetime | None = None
) -> LazyString | None:
    """Why the door does not scan for an event with this status and end, or None when it does."""
    now = now or utcnow()
    if status == "cancelled":
        return _l("This event is cancelled. Its tickets are no longer valid.")
    if status != "published":
        return _l("This event is not published. The door opens when it is.")
    if ends_at < now - DOOR_OPEN_AFTER_END:
        return _l("This event ended more than a day ago. The door is closed.")
    return None


def require_open_door(event_id: int, now: datetime | None = None) -> None:
    """NotFound for an unknown event; DoorClosed unless the door may scan for it."""
    row = db.session.execute(
        select(Event.status, Event.ends_at).where(Event.id == event_id)
    ).first()
    if row is None:
        raise NotFound(_l("No such event."))
    reason = door_closed_reason(row.status, row.ends_at, now)
    if reason is not None:
        raise DoorClosed(reason)
