"""Which statistics charts staff have made public on /stats/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db


class PublicChart(db.Model):
    """A chart shown on the public statistics page (a row per chart; no row: not public)."""

    __tablename__ = "public_charts"

    id: Mapped[int] = mapped_column(primary_key=True)
    chart_key: Mapped[str] = mapped_column(String(60), unique=True)
    made_public_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    made_public_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
