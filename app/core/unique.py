"""Rows that may exist only once: a double submit becomes a normal answer, not a server error."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Table, bindparam, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db


def is_unique_violation(exc: IntegrityError) -> bool:
    """True when the statement broke a unique constraint (not a foreign key or a check)."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is not None:
        return sqlstate == "23505"  # PostgreSQL unique_violation
    return "UNIQUE constraint failed" in str(orig)


def add_once(row: object) -> bool:
    """Insert a new row in a savepoint; False when a unique constraint says it exists already.

    Two simultaneous requests both see "no row yet"; the second insert waits on the unique index
    until the first commits and then fails. Only the savepoint is rolled back, so the caller's
    transaction goes on and can answer as for a row that was there before.
    """
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True


@cache
def insert_unless_taken(
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: tuple[str, ...] | None = None,
):
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING` the row, for `table`, built once.

    Written as text: SQLAlchemy compiles its dialects' ON CONFLICT constructs again on every
    execution (they have no cache key), which costs about as much client CPU as the statement's
    round trip; a text statement is compiled once. PostgreSQL and SQLite (3.35+) both speak it.
    Bind one value per column by name. The written row's `returning` columns come back (all
    of them by default); nothing comes back when a conflicting row exists (on the `conflict`
    columns' unique index, or on any unique constraint when `conflict` is empty).
    """

    def quoted(names) -> str:
        return ", ".join(f'"{name}"' for name in names)

    binds = ", ".join(f":{name}" for name in columns)
    targets = f" ({quoted(conflict)})" if conflict else ""
    returned = [table.c[name] for name in returning] if returning else list(table.c)
    return (
        text(
            f"INSERT INTO {table.name} ({quoted(columns)}) VALUES ({binds})"
            f" ON CONFLICT{targets} DO NOTHING RETURNING {quoted(c.name for c in returned)}"
        )
        .bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))
        .columns(*returned)
    )
