"""The events part of the personal data export."""

from sqlalchemy import select

from app.events.models import Event, EventMessage, Registration
from app.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """My registrations and tickets, and what I did as an organiser (events, messages)."""
    rows = db.session.scalars(
        select(Registration).where(Registration.user_id == user.id).order_by(Registration.id)
    )
    created = db.session.scalars(select(Event).where(Event.created_by_id == user.id))
    messages = db.session.scalars(select(EventMessage).where(EventMessage.sent_by_id == user.id))
    return {
        "events_created": [
            {"event_id": e.id, "title": e.title, "created_at": _iso(e.created_at)} for e in created
        ],
        "event_messages_sent": [
            {
                "event_id": m.event_id,
                "subject": m.subject,
                "sent_at": _iso(m.created_at),
                "recipients": m.recipient_count,
            }
            for m in messages
        ],
        "event_registrations": [
            {
                "event_id": r.event_id,
                "event_title": r.event.title,
                "event_starts_at": _iso(r.event.starts_at),
                "name": r.name,
                "email": r.email,
                "state": r.state,
                "registered_at": _iso(r.created_at),
                "confirmed_at": _iso(r.confirmed_at),
                "waiting_since": _iso(r.waiting_since),
                "cancelled_at": _iso(r.cancelled_at),
                "terms_version": r.terms.version if r.terms else None,
                "terms_accepted_at": _iso(r.terms_accepted_at),
                "ticket_code": r.ticket_code,
                "ticket_mailed_at": _iso(r.ticket_mailed_at),
                "checked_in_at": _iso(r.checked_in_at),
            }
            for r in rows
        ],
    }
