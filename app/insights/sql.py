"""SQL expressions the statistics group by, written once for PostgreSQL and once for SQLite."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class month_of(FunctionElement):  # noqa: N801 (reads like the SQL function it stands for)
    """'YYYY-MM' of a date or timestamp (timestamps in UTC)."""

    type = String()
    inherit_cache = True


@compiles(month_of)
def _month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(month_of, "postgresql")
def _month_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


class day_of(FunctionElement):  # noqa: N801
    """'YYYY-MM-DD' of a timestamp (UTC)."""

    type = String()
    inherit_cache = True


@compiles(day_of)
def _day_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d', {compiler.process(element.clauses, **kw)})"


@compiles(day_of, "postgresql")
def _day_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class seconds_between(FunctionElement):  # noqa: N801
    """Seconds from the first timestamp to the second (negative when the second is earlier)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


class whole_steps(FunctionElement):  # noqa: N801
    """floor(seconds / step) as an integer, for negative spans too: whole_steps(span, 300)."""

    type = Integer()
    inherit_cache = True


@compiles(whole_steps)
def _steps_sqlite(element, compiler, **kw):
    span, step = (compiler.process(c, **kw) for c in element.clauses)
    # SQLite's CAST truncates toward zero; one less for a negative span that is not whole.
    quotient = f"(({span}) * 1.0 / ({step}))"
    return f"(CAST({quotient} AS INTEGER) - ({quotient} < CAST({quotient} AS INTEGER)))"


@compiles(whole_steps, "postgresql")
def _steps_pg(element, compiler, **kw):
    span, step = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(({span}) / ({step})) AS INTEGER)"


class days_between(FunctionElement):  # noqa: N801
    """Calendar days (UTC) from the first timestamp's date to the second's: cheaper per row than
    an epoch difference, and what "days before the start" means on a calendar."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(CAST(({end}) AT TIME ZONE 'UTC' AS DATE) - CAST(({start}) AT TIME ZONE 'UTC' AS DATE))"
    )


class later_by(FunctionElement):  # noqa: N801
    """True when the first timestamp is more than `seconds` after the second: later_by(a, b, 60)."""

    type = Boolean()
    inherit_cache = True


@compiles(later_by)
def _later_sqlite(element, compiler, **kw):
    later, earlier, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0 > {seconds})"


@compiles(later_by, "postgresql")
def _later_pg(element, compiler, **kw):
    later, earlier, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} > {earlier} + make_interval(secs => {seconds}))"
