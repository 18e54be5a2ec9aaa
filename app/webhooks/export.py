"""The webhooks' part of a person's data export: the endpoints they registered (no secrets)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.webhooks.models import WebhookEndpoint


def personal_data(user) -> dict:
    """The endpoints the person created, as admins see them."""
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.created_by_id == user.id)
        .order_by(WebhookEndpoint.id)
    )
    return {
        "webhook_endpoints_created": [
            {
                "url": row.url,
                "events": list(row.events or []),
                "active": row.active,
                "created_at": row.created_at.isoformat() if row.created_at else None,
            }
            for row in rows
        ]
    }
