"""Time helpers: everything is stored timezone-aware in UTC; "today" is the organisation's."""

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def _system_clock() -> datetime:
    return datetime.now(UTC)


# Every reading of the time goes through here, so a test can set the clock for all the code at
# once (monkeypatch timeutil.clock), whichever module imported utcnow by name.
clock = _system_clock


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return clock()


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def organisation_tz() -> ZoneInfo:
    """The organisation's timezone (config TIMEZONE)."""
    return _zone(current_app.config["TIMEZONE"])


def local_date(value: datetime) -> date:
    """The calendar date of an aware time in the organisation's timezone."""
    return value.astimezone(organisation_tz()).date()


def local_today() -> date:
    """Today in the organisation's timezone: a member who joins at 00:30 local time joins today,
    even while it is still yesterday in UTC or on the server."""
    return local_date(utcnow())


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp; SQLite's naive values are read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use timezone-aware UTC times")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
