"""CSV import of members, the write: every checked row in one transaction, or nothing.

Rows go in with one INSERT per table per batch of WRITE_BATCH rows (app/members/importer.py checks
the file first, and again here).
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import insert, text

from app.auth.models import User
from app.core import audit
from app.core.timeutil import local_date, utcnow
from app.extensions import db
from app.members import importer, national_id
from app.members.consents import CONSENT_TEXTS, set_consents
from app.members.importer import CONSENT_COLUMNS, ImportInvalid, ImportRow, Progress
from app.members.models import (
    Consent,
    ConsentEvent,
    Membership,
    MembershipEvent,
    UnionMembership,
)
from app.members.records import RECORD_FIELDS
from app.members.validation import default_country

WRITE_BATCH = 1000  # rows per INSERT statement


def write(
    data: bytes,
    actor_id: int | None,
    progress: Progress | None = None,
    mapping: dict[str, str] | None = None,
) -> int:
    """Check the whole file again and write every row, or nothing; returns how many were written.

    Rows go in with one INSERT per table per batch of WRITE_BATCH rows. The caller commits once,
    so the rows land in one transaction; a row the database refuses (IntegrityError) leaves
    nothing behind after the caller's rollback. progress(done, total) sees the check as the
    first half and the write as the second.
    """
    halves = (lambda done, total: progress(done, 2 * total)) if progress else None
    checked = importer.preview(data, halves, mapping)
    if not checked.ok:
        raise ImportInvalid(checked)
    db.session.flush()  # the Core inserts below do not flush what the session holds
    now = utcnow()
    default_language = current_app.config.get("DEFAULT_LANGUAGE", "da")
    texts = {}
    for language in current_app.config.get("LANGUAGES", ("da", "en", "is")):
        with force_locale(language):
            texts[language] = {kind: str(text) for kind, text in CONSENT_TEXTS.items()}
    rows = checked.rows
    total = len(rows)
    for start in range(0, total, WRITE_BATCH):
        _write_batch(rows[start : start + WRITE_BATCH], actor_id, now, default_language, texts)
        if progress:
            progress(total + min(start + WRITE_BATCH, total), 2 * total)
    audit.record("members.imported", "membership", None, after={"count": total}, actor_id=actor_id)
    return total


@cache
def _record_defaults() -> dict[str, Any]:
    """The record columns an import may fill, each with the column's own default."""
    defaults = {}
    for column in (*RECORD_FIELDS, "joined_on", "is_test"):
        default = Membership.__table__.c[column].default
        defaults[column] = default.arg if default is not None and default.is_scalar else None
    return defaults


def _membership_values(values: dict[str, Any], user_id: int, now) -> dict[str, Any]:
    # Every row carries the same keys, so a batch is one multi-row INSERT.
    record = {
        column: default if values.get(column) is None else values[column]
        for column, default in _record_defaults().items()
    }
    country = values.get("national_id_country") or default_country()
    record.update(
        user_id=user_id,
        status=values["status"],
        created_at=now,
        updated_at=now,
        national_id_country=country,
        national_id_encrypted=None,
        national_id_hash=None,
        national_id_masked="",
    )
    record["phone_digits"] = re.sub(r"\D", "", record.get("phone") or "")
    birthday = record.get("birthday")
    record["birth_year"] = birthday.year if birthday else None
    if values.get("national_id"):
        record["national_id_encrypted"] = national_id.encrypt(values["national_id"])
        record["national_id_hash"] = values["national_id_hash"]
        record["national_id_masked"] = national_id.mask(country, values["national_id"])
    if record["status"] == "active" and record.get("joined_on") is None:
        record["joined_on"] = local_date(now)  # the organisation's day, not UTC's
    return record


def _insert(model, rows: list[dict[str, Any]]) -> None:
    """Insert rows that share their keys with one executemany (pipelined by psycopg).

    A Core insert on the table: the ORM's bulk insert leaves out None values, which split rows
    with and without (say) a birthday into one statement each.
    """
    db.session.execute(insert(model.__table__), rows)


def _insert_with_ids(model, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids in order.

    On PostgreSQL the ids are taken from the table's sequence first (one query), so the rows go
    in as a plain executemany: about five times faster than INSERT ... RETURNING in order.
    """
    table = model.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(db.session.execute(statement, rows).scalars())
    ids = list(
        db.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        ).scalars()
    )
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    db.session.execute(insert(table), rows)
    return ids


def _write_batch(
    rows: list[ImportRow],
    actor_id: int | None,
    now,
    default_language: str,
    texts: dict[str, dict[str, str]],
) -> None:
    fresh = [row for row in rows if not row.existing_user_id]
    user_ids = {row.line: row.existing_user_id for row in rows if row.existing_user_id}
    languages = {}
    if fresh:
        user_rows = []
        for row in fresh:
            language = row.values.get("language") or default_language
            languages[row.line] = language
            user_rows.append(
                {
                    "email": row.values["email"],
                    "name": row.values["full_name"],
                    "password_hash": "!imported-" + secrets.token_hex(8),
                    "locale": language,
                    "created_at": now,
                }
            )
        ids = _insert_with_ids(User, user_rows)
        user_ids.update({row.line: user_id for row, user_id in zip(fresh, ids, strict=True)})
    member_rows = [_membership_values(row.values, user_ids[row.line], now) for row in rows]
    member_ids = _insert_with_ids(Membership, member_rows)
    unions, history = [], []
    for row, membership_id in zip(rows, member_ids, strict=True):
        for union, number in row.values.get("unions", []):
            unions.append({"membership_id": membership_id, "union": union, "member_number": number})
        history.append(
            {
                "membership_id": membership_id,
                "action": "imported",
                "to_status": row.values["status"],
                "by_id": actor_id,
                "at": now,
                "reason": "",
            }
        )
    if unions:
        _insert(UnionMembership, unions)
    _insert(MembershipEvent, history)
    consents, consent_events = [], []
    for row in rows:
        wanted = {k: row.values[k] for k in CONSENT_COLUMNS if k in row.values}
        if not wanted:
            continue
        if row.existing_user_id:  # an account that may have stated consents already
            user = db.session.get(User, row.existing_user_id)
            set_consents(user, wanted, actor_id=actor_id, source="import")
            continue
        wording = texts.get(languages[row.line]) or texts[default_language]
        for kind, given in wanted.items():
            user_id = user_ids[row.line]
            consents.append({"user_id": user_id, "kind": kind, "given": given, "changed_at": now})
            consent_events.append(
                {
                    "user_id": user_id,
                    "kind": kind,
                    "given": given,
                    "at": now,
                    "by_id": actor_id,
                    "source": "import",
                    "text": wording[kind],
                }
            )
    if consents:
        _insert(Consent, consents)
        _insert(ConsentEvent, consent_events)
