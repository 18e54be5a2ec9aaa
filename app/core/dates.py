"""Dates and times as people read them: in the organisation's timezone, without seconds or a
spelled-out timezone, start and end together ("tirsdag 22. december 2026, 20.00–22.00"), and
English in day-month order (British English patterns, not American)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache, wraps

from babel import Locale, dates
from flask import current_app
from flask_babel import get_locale

from app.core.timeutil import organisation_tz

# English is written in day-month order and on the 24-hour clock.
_FORMAT_LOCALES = {"en": "en_GB"}
WIDTHS = ("short", "medium", "long", "full")


def _remembered(function: Callable[..., str]) -> Callable[..., str]:
    """Remember a formatted value per language and timezone (bounded): Babel takes tens of
    microseconds per date, and a page shows the same dates on every request (each event's span
    on the events list). The result depends on nothing else: the value, the width, the reader's
    language and the organisation's timezone."""

    @lru_cache(maxsize=4096)
    def remembered(_language: str, _zone: str, args: tuple, kwargs: tuple) -> str:
        return function(*args, **dict(kwargs))

    @wraps(function)
    def wrapper(*args, **kwargs) -> str:
        language = str(get_locale() or "da")
        return remembered(language, current_app.config["TIMEZONE"], args, tuple(kwargs.items()))

    wrapper.uncached = function
    return wrapper


def _locale() -> Locale:
    current = get_locale() or Locale.parse("da")
    name = _FORMAT_LOCALES.get(current.language)
    return Locale.parse(name) if name else current


def _local(value: datetime) -> datetime:
    return value.astimezone(organisation_tz()) if value.tzinfo else value


def _day_pattern(locale: Locale) -> str:
    # Danish says "tirsdag den 22. december"; on a page "tirsdag 22. december" reads better.
    return locale.date_formats["full"].pattern.replace(" 'den'", "")


@_remembered
def format_date(value: date | datetime | None, width: str = "medium") -> str:
    """A calendar date ("22. dec. 2026"; width full adds the weekday)."""
    if value is None:
        return ""
    locale = _locale()
    if isinstance(value, datetime):
        value = _local(value).date()
    if width == "full":
        return dates.format_date(value, _day_pattern(locale), locale=locale)
    return dates.format_date(value, width if width in WIDTHS else "medium", locale=locale)


@_remembered
def format_time(value: datetime | None, width: str = "short") -> str:
    """A time of day in hours and minutes ("20.00", "20:00"), whatever the width asked."""
    if value is None:
        return ""
    locale = _locale()
    return dates.format_time(_local(value), locale.time_formats["short"], locale=locale)


@_remembered
def format_datetime(value: datetime | None, width: str = "medium") -> str:
    """A date with its time, no seconds and no timezone ("22. dec. 2026 20.00")."""
    if value is None:
        return ""
    width = width if width in WIDTHS else "medium"
    day, clock = format_date(value, width), format_time(value)
    if width in ("long", "full"):
        return f"{day}, {clock}"
    return str(_locale().datetime_formats[width]).replace("{1}", day).replace("{0}", clock)


@_remembered
def format_span(start: datetime | None, end: datetime | None, width: str = "full") -> str:
    """Start and end together: one day and two times on the same day, else two dates."""
    if start is None:
        return ""
    if end is None or end <= start:
        return format_datetime(start, width)
    if _local(start).date() == _local(end).date():
        return f"{format_date(start, width)}, {format_time(start)}\u2013{format_time(end)}"
    return f"{format_datetime(start, width)} \u2013 {format_datetime(end, width)}"
