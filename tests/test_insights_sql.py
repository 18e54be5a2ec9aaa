"""The statistics' SQL expressions give the same answers on SQLite (development) as the other
tests see on PostgreSQL: months, calendar days, whole 5-minute steps (also before zero), and
'later by more than'."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app.core.timeutil import UTCDateTime
from app.insights.sql import days_between, later_by, month_of, seconds_between, whole_steps

T0 = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def connection(request, services):
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
    else:
        if not services["postgres"]:
            pytest.skip("PostgreSQL is not running")
        engine = sa.create_engine(services["database_url"])
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _at(value: datetime):
    return sa.literal(value, UTCDateTime())


@pytest.mark.parametrize(
    ("later", "steps"),
    [
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), 0),
        (datetime(2026, 3, 31, 23, 34, 59, tzinfo=UTC), 0),
        (datetime(2026, 3, 31, 23, 35, tzinfo=UTC), 1),
        (datetime(2026, 3, 31, 23, 29, tzinfo=UTC), -1),
        (datetime(2026, 3, 31, 23, 25, tzinfo=UTC), -1),
        (datetime(2026, 3, 31, 23, 18, tzinfo=UTC), -3),
    ],
)
def test_whole_five_minute_steps_round_down_on_both_sides_of_zero(connection, later, steps):
    expression = whole_steps(seconds_between(_at(T0), _at(later)), 300)
    assert connection.scalar(sa.select(expression)) == steps


def test_months_days_and_later_by(connection):
    row = connection.execute(
        sa.select(
            month_of(sa.literal(date(2026, 2, 28), sa.Date())),
            month_of(_at(T0)),
            days_between(_at(T0), _at(datetime(2026, 4, 1, 0, 10, tzinfo=UTC))),
            days_between(_at(datetime(2026, 3, 1, 12, tzinfo=UTC)), _at(T0)),
            later_by(_at(datetime(2026, 3, 31, 23, 31, 1, tzinfo=UTC)), _at(T0), 60),
            later_by(_at(datetime(2026, 3, 31, 23, 30, 59, tzinfo=UTC)), _at(T0), 60),
        )
    ).one()
    assert tuple(row[:4]) == ("2026-02", "2026-03", 1, 30)
    assert bool(row[4]) is True and bool(row[5]) is False
