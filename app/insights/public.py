"""Which charts are public, and changing that (staff choose chart by chart)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.core import audit
from app.core.security import has_role
from app.extensions import db
from app.insights import cache
from app.insights.charts import PUBLIC_CHOICES, ChartSpec
from app.insights.models import PublicChart


def public_keys() -> set[str]:
    """Keys of the charts that are public now."""
    return set(db.session.scalars(select(PublicChart.chart_key)))


def public_charts() -> list[ChartSpec]:
    """The public charts, in page order (a key no longer known is left out)."""
    keys = public_keys()
    return [spec for spec in PUBLIC_CHOICES if spec.key in keys]


def choices_for(user) -> list[ChartSpec]:
    """The charts this user may make public: those of their own roles."""
    return [spec for spec in PUBLIC_CHOICES if has_role(user, spec.role)]


def set_public(user, chosen: set[str]) -> tuple[set[str], set[str]]:
    """Make exactly the chosen charts (among those the user may choose) public; returns the
    keys added and removed."""
    allowed = {spec.key for spec in choices_for(user)}
    chosen = chosen & allowed
    current = public_keys() & allowed
    added, removed = chosen - current, current - chosen
    if removed:
        db.session.execute(delete(PublicChart).where(PublicChart.chart_key.in_(removed)))
    for key in sorted(added):
        try:
            # Two staff members ticking the same chart at once: the unique key keeps one row.
            with db.session.begin_nested():
                db.session.add(PublicChart(chart_key=key, made_public_by_id=user.id))
        except IntegrityError:
            pass
    if added or removed:
        db.session.flush()
        audit.record(
            "stats.public_changed",
            "public_charts",
            None,
            before={"public": sorted(current)},
            after={"public": sorted(chosen)},
        )
        cache.clear()
    return added, removed
