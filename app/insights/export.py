"""The insights' part of a person's data export: the charts they made public."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.insights.models import PublicChart


def personal_data(user) -> dict:
    """Which public statistics the person chose, and when."""
    rows = db.session.scalars(
        select(PublicChart).where(PublicChart.made_public_by_id == user.id).order_by(PublicChart.id)
    )
    return {
        "public_charts_chosen": [
            {"chart": row.chart_key, "made_public_at": row.made_public_at.isoformat()}
            for row in rows
        ]
    }
