"""The date range a statistics page covers: read from ?from=&to=, checked, with a default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.core.timeutil import local_today, organisation_tz

LONGEST_DAYS = 366 * 20
EARLIEST = date(1900, 1, 1)


@dataclass(frozen=True)
class Period:
    """From the first day to the last day, both included."""

    start: date
    end: date

    @property
    def months(self) -> list[str]:
        """Every month the period touches, as 'YYYY-MM'."""
        months, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)

    @property
    def start_at(self) -> datetime:
        """The first moment of the period in the organisation's timezone."""
        return datetime.combine(self.start, time(), organisation_tz())

    @property
    def end_at(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end_exclusive, time(), organisation_tz())


def default_period(today: date | None = None) -> Period:
    """The last twelve months: from the first of the month eleven months ago up to today."""
    today = today or local_today()
    year, month = today.year, today.month - 11
    if month < 1:
        year, month = year - 1, month + 12
    return Period(date(year, month, 1), today)


def _day(text: str, field: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise DomainError(_l("Give the date as YYYY-MM-DD."), field=field) from None
    if value < EARLIEST or value.year > 2200:
        raise DomainError(_l("That date is out of range."), field=field)
    return value


def parse_period(args) -> Period:
    """The period asked for in the query string; DomainError (with the field) when it is wrong."""
    default = default_period()
    start_text = (args.get("from") or "").strip()[:20]
    end_text = (args.get("to") or "").strip()[:20]
    start = _day(start_text, "from") if start_text else default.start
    end = _day(end_text, "to") if end_text else default.end
    if start > end:
        raise DomainError(_l("The start date must be on or before the end date."), field="to")
    if (end - start).days > LONGEST_DAYS:
        raise DomainError(_l("Choose a period of at most 20 years."), field="from")
    return Period(start, end)
