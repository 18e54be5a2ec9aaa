"""The door part of the personal data export: scans of my tickets and scans I made."""

from sqlalchemy import or_, select

from app.checkin.models import Scan
from app.events.models import Registration
from app.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """Scans that concern the person, either as the ticket holder or as the one scanning."""
    mine = select(Registration.id).where(Registration.user_id == user.id)
    scans = db.session.scalars(
        select(Scan)
        .where(
            or_(
                Scan.user_id == user.id,
                Scan.checked_in_by_id == user.id,
                Scan.registration_id.in_(mine),
            )
        )
        .order_by(Scan.scanned_at)
    )
    return {
        "door_scans": [
            {
                "event_id": s.event_id,
                "scanned_at": _iso(s.scanned_at),
                "result": s.result,
                "action": s.action,
                "source": s.source,
                "as_volunteer": s.user_id == user.id,
                "my_ticket": s.user_id != user.id,
            }
            for s in scans
        ]
    }
