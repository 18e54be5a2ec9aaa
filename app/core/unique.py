"""Rows that may exist only once: a double submit becomes a normal answer, not a server error."""

from __future__ import annotations

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
