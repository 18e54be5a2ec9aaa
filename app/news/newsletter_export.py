"""The newsletters part of the personal data export (/account/data.json)."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.auth.models import User
from app.extensions import db
from app.news.newsletter_models import Newsletter


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user: User) -> dict:
    """Newsletters this person wrote or sent as staff (not who received them)."""
    rows = db.session.scalars(
        select(Newsletter)
        .where(or_(Newsletter.created_by_id == user.id, Newsletter.sent_by_id == user.id))
        .order_by(Newsletter.id)
    ).all()
    return {
        "newsletters_written": [
            {
                "id": n.id,
                "subject": (n.text_for(n.language).subject if n.text_for(n.language) else ""),
                "written_by_me": n.created_by_id == user.id,
                "sent_by_me": n.sent_by_id == user.id,
                "created_at": _iso(n.created_at),
                "sent_at": _iso(n.sent_at),
            }
            for n in rows
        ]
    }
