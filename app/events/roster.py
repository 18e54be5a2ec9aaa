"""Reading registrations: a person's own, their place on the waiting list, an event's counts."""

from __future__ import annotations

from sqlalchemy import ScalarSelect, and_, func, or_, select

from app.core import glance
from app.events.models import Event, Registration
from app.extensions import db


def waiting_position(registration: Registration) -> int | None:
    """1 for the first person waiting."""
    if registration.state != "waiting":
        return None
    ahead = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.state == "waiting",
            or_(
                Registration.waiting_since < registration.waiting_since,
                and_(
                    Registration.waiting_since == registration.waiting_since,
                    Registration.id < registration.id,
                ),
            ),
        )
    )
    return ahead + 1


def registration_for(event_id: int, user) -> Registration | None:
    """The person's registration (any state) for the event."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event_id, Registration.user_id == user.id
        )
    )


def state_counts(event_id: int) -> dict[str, int]:
    """confirmed, waiting, cancelled and checked_in counts for an event."""
    rows = db.session.execute(
        select(Registration.state, func.count(Registration.id))
        .where(Registration.event_id == event_id)
        .group_by(Registration.state)
    ).all()
    counts = {"confirmed": 0, "waiting": 0, "cancelled": 0, **dict(rows)}
    counts["checked_in"] = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == event_id, Registration.checked_in_at.is_not(None)
        )
    )
    return counts


@glance.item("upcoming_tickets")
def upcoming_tickets(user_id, now) -> ScalarSelect:
    """My confirmed registrations for events not over yet (my page's tickets card)."""
    return (
        select(func.count(Registration.id))
        .join(Event)
        .where(
            Registration.user_id == user_id,
            Registration.state == "confirmed",
            Event.ends_at > now,
        )
        .scalar_subquery()
    )
