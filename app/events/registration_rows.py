"""A person's registration row, written in one statement.

A new row is written with one INSERT ... ON CONFLICT DO NOTHING (built once): in state
'waiting', or, when a seat looks free, already confirmed with its ticket code, so that the seat's
UPDATE and the ticket job are all that follow (app/events/registrations.py). Nothing comes back
when the person has a row already (unique event_id, user_id), or, rarely, when the ticket's short
code is taken in the event (another is tried). A cancelled row is taken up again, once.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.timeutil import utcnow
from app.core.unique import insert_unless_taken
from app.events.eligibility import refuse
from app.events.models import Event, Registration
from app.events.tickets import make_code, short_code
from app.extensions import db

_ROW_COLUMNS = tuple(column.name for column in Registration.__table__.c if column.name != "id")
_ROW_DEFAULTS = dict.fromkeys(_ROW_COLUMNS)
# Built once: the row comes back as the session's Registration, as if it had been loaded.
# Any unique constraint: the person's row (event_id, user_id), or the short code in the event.
_INSERT_ROW = select(Registration).from_statement(
    insert_unless_taken(Registration.__table__, _ROW_COLUMNS, ())
)


def _insert_row(event: Event, user_id: int | None, values: dict) -> Registration | None:
    """Insert the row, or None when a unique constraint says no: the person's row exists
    (event_id, user_id), or, rarely, the ticket's short code is taken in the event."""
    values = {"event_id": event.id, "user_id": user_id, "state": "waiting", **values}
    if user_id is not None:
        # One round trip; a concurrent double click waits on the index and gets nothing back.
        return db.session.scalar(_INSERT_ROW, {**_ROW_DEFAULTS, **values})
    try:
        with db.session.begin_nested():
            registration = Registration(**values)
            db.session.add(registration)
            db.session.flush()
            return registration
    except IntegrityError:
        return None


def _has_row(event_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return (
        db.session.scalar(
            select(Registration.id).where(
                Registration.event_id == event_id, Registration.user_id == user_id
            )
        )
        is not None
    )


def reserve_row(
    event: Event,
    user,
    name: str,
    email: str,
    locale: str | None,
    extra: Mapping | None = None,
    ticketed: bool = False,
) -> tuple[Registration, bool]:
    """The person's registration row and whether it was written confirmed with its ticket.

    A new row is written in state 'waiting', or, with `ticketed` (a seat looked free), already
    confirmed with its ticket code: the seat is taken right after (`_place`), and a row whose
    seat went meanwhile goes back to waiting. A cancelled row is taken up again as 'waiting'.
    A second, simultaneous request for the same person fails here: on the unique constraint
    for a new row, or on the conditional UPDATE for a cancelled one.
    """
    now = utcnow()
    user_id = getattr(user, "id", None)
    values = {
        "name": name[:200],
        "email": email[:320],
        "locale": locale,
        "waiting_since": now,
        "created_at": now,
        **(extra or {}),
    }
    has_row = False
    if ticketed:
        code = make_code(event.id, event.signing_key_encrypted)
        for attempt in range(10):  # another short code when the event has this one already
            written = {**values, **_ticket_values(code, attempt, now)}
            registration = _insert_row(event, user_id, written)
            if registration is not None:
                return registration, True
            has_row = _has_row(event.id, user_id)
            if has_row:
                break
    if not has_row:
        registration = _insert_row(event, user_id, values)
        if registration is not None:
            return registration, False
    # The person has a row: only a cancelled one may be taken up again, and only once.
    registration = db.session.scalar(
        update(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.user_id == user_id,
            Registration.state == "cancelled",
        )
        .values(state="waiting", cancelled_at=None, **values)
        .returning(Registration)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if registration is None:
        raise refuse("already_registered")
    return registration, False


def _ticket_values(code: str, attempt: int, now) -> dict:
    """A confirmed row's columns, written with the row itself (see `reserve_row`)."""
    return {
        "state": "confirmed",
        "confirmed_at": now,
        "waiting_since": None,
        "ticket_code": code,
        "short_code": short_code(code, attempt),
    }
