"""CSV import of members: the check that lists every row's problems (the write is import_write.py).

Both run in background jobs (app/members/tasks.py) on files of up to 50,000 rows: the write
inserts a batch of rows per statement, and the whole file lands in one transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from app.auth.models import User
from app.auth.services import normalise_email
from app.core.errors import DomainError
from app.extensions import db
from app.members import national_id
from app.members.columns import column_label, header_key, status_key
from app.members.directory import EXPORT_COLUMNS
from app.members.import_file import table_rows
from app.members.models import (
    Membership,
)
from app.members.records import RECORD_FIELDS
from app.members.validation import clean_country, clean_value, default_country

REQUIRED_COLUMNS = ("full_name", "email")
IMPORT_COLUMNS = (
    *REQUIRED_COLUMNS,
    *(f for f in RECORD_FIELDS if f != "full_name"),
    "national_id",
    "national_id_country",
    "joined_on",
    "status",
    "unions",
    "reachable",
    "groupable",
    "newsletter",
    "is_test",
    "language",
)
# Columns an export carries that an import reads past, so an exported file can come back in.
IGNORED_COLUMNS = tuple(c for c in EXPORT_COLUMNS if c not in IMPORT_COLUMNS)
MAX_ROWS = 50000
SKIP = "-"  # a header staff chose to leave out
PREVIEW_VALID_ROWS = 200  # valid rows listed on the page (every row with a problem is listed)
PREVIEW_ERROR_ROWS = 2000
CONSENT_COLUMNS = ("reachable", "groupable", "newsletter")
Progress = Callable[[int, int], None]
YES = {"1", "yes", "true", "y", "ja", "já", "x"}
NO = {"", "0", "no", "false", "n", "nej", "nei"}


@dataclass
class ImportRow:
    line: int
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    existing_user_id: int | None = None


@dataclass
class ImportPreview:
    rows: list[ImportRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # headers no column is known by

    @property
    def error_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def ok(self) -> bool:
        return not self.file_errors and bool(self.rows) and not self.error_rows


class ImportInvalid(DomainError):
    """The file has problems; nothing was imported. `checked` lists them."""

    def __init__(self, checked: ImportPreview):
        super().__init__(_l("The file still has errors; nothing was imported."), field="file")
        self.checked = checked


def _flag(column: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise DomainError(_l("Write yes or no."), field=column)


def _unions(value: str) -> list[tuple[str, str]]:
    result = []
    for part in value.split(";"):
        if not part.strip():
            continue
        union, _sep, number = part.partition(":")
        result.append((union.strip()[:200], number.strip()[:60]))
    return result


def _check_row(row: ImportRow) -> None:
    """Each value of the row, validated on its own (duplicates are checked across rows later)."""
    raw = row.raw

    def check(column: str, func):
        try:
            row.values[column] = func()
        except DomainError as exc:
            row.errors.append((exc.field or column, str(exc.message)))

    for column in RECORD_FIELDS + ("joined_on",):
        if column in raw:
            check(column, lambda c=column: clean_value(c, raw[c]))
    email = normalise_email(raw.get("email", ""))

    def check_email():
        from email_validator import EmailNotValidError, validate_email

        if not email:
            raise DomainError(_l("The e-mail address is missing."), field="email")
        try:
            return validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise DomainError(_l("This is not a valid e-mail address."), field="email") from None

    check("email", check_email)
    check(
        "national_id_country",
        lambda: clean_country(
            raw.get("national_id_country") or default_country(), "national_id_country"
        ),
    )
    if national_id.normalise(raw.get("national_id")):
        country = row.values.get("national_id_country") or default_country()
        check("national_id", lambda: national_id.validate(country, raw["national_id"]))
        encoded = (
            national_id.birthday_from(country, row.values["national_id"])
            if "national_id" in row.values
            else None
        )
        birthday = row.values.get("birthday")
        if encoded and birthday and encoded != birthday:
            row.errors.append(
                ("birthday", str(_l("The birthday does not match the national ID number.")))
            )
        elif encoded and not birthday and "national_id" in row.values:
            row.values["birthday"] = encoded
    check("status", lambda: clean_value("status", status_key(raw.get("status") or "active")))
    for column in ("reachable", "groupable", "newsletter", "is_test"):
        if column in raw:
            check(column, lambda c=column: _flag(c, raw[c]))
    if raw.get("unions", "").strip():
        row.values["unions"] = _unions(raw["unions"])
    if raw.get("language", "").strip():
        check("language", lambda: _language(raw["language"]))


def _language(value: str) -> str:
    language = value.strip().lower()
    if language not in current_app.config.get("LANGUAGES", ("da", "en", "is")):
        raise DomainError(_l("Write da, en or is."), field="language")
    return language


def _check_duplicates(rows: list[ImportRow]) -> None:
    """The same e-mail or national ID twice in the file, or already a member here."""
    emails: dict[str, int] = {}
    numbers: dict[str, int] = {}
    for row in rows:
        email = row.values.get("email")
        if email:
            if email in emails:
                row.errors.append(
                    ("email", str(_l("The same e-mail address is on line %(n)d.", n=emails[email])))
                )
            emails.setdefault(email, row.line)
        number = row.values.get("national_id")
        if number:
            digest = national_id.lookup(number)
            row.values["national_id_hash"] = digest
            if digest in numbers:
                row.errors.append(
                    (
                        "national_id",
                        str(_l("The same national ID number is on line %(n)d.", n=numbers[digest])),
                    )
                )
            numbers.setdefault(digest, row.line)
    for chunk in _chunks(list(emails), 1000):
        found = db.session.execute(
            select(User.email, User.id, Membership.id)
            .outerjoin(Membership, Membership.user_id == User.id)
            .where(User.email.in_(chunk))
        ).all()
        by_email = {email: (user_id, member_id) for email, user_id, member_id in found}
        for row in rows:
            hit = by_email.get(row.values.get("email"))
            if hit is None:
                continue
            if hit[1] is not None:
                row.errors.append(("email", str(_l("A member with this e-mail address exists."))))
            else:
                row.existing_user_id = hit[0]
    hashes = [row.values["national_id_hash"] for row in rows if row.values.get("national_id_hash")]
    taken: set[str] = set()
    for chunk in _chunks(hashes, 1000):
        taken.update(
            db.session.scalars(
                select(Membership.national_id_hash).where(Membership.national_id_hash.in_(chunk))
            )
        )
    for row in rows:
        if row.values.get("national_id_hash") in taken:
            row.errors.append(
                ("national_id", str(_l("This national ID number is already in use by a member.")))
            )


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def preview(
    data: bytes, progress: Progress | None = None, mapping: dict[str, str] | None = None
) -> ImportPreview:
    """Read and check the whole file (CSV or XLSX) without writing anything; `mapping` names
    the column of headers staff mapped by hand (or SKIP); progress(done, total) is told how
    many rows are checked as it goes."""
    result = ImportPreview()
    reader = table_rows(data)
    try:
        header = next(reader)
    except StopIteration:
        result.file_errors.append(str(_l("The file is empty.")))
        return result
    except DomainError as exc:
        result.file_errors.append(str(exc.message))
        return result
    mapping = mapping or {}
    columns = [mapping.get(h.strip()) or header_key(h) or h.strip() for h in header]
    result.columns = columns
    unknown = [
        h.strip()
        for h, c in zip(header, columns, strict=True)
        if c and c not in IMPORT_COLUMNS and c not in IGNORED_COLUMNS and c != SKIP
    ]
    result.unknown = unknown
    if unknown:
        result.file_errors.append(
            ngettext(
                "Unknown column: %(names)s.",
                "Unknown columns: %(names)s.",
                len(unknown),
                names=", ".join(unknown),
            )
        )
    missing = [column_label(c) for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        result.file_errors.append(
            ngettext(
                "Missing column: %(names)s.",
                "Missing columns: %(names)s.",
                len(missing),
                names=", ".join(missing),
            )
        )
    duplicated = sorted({column_label(c) for c in columns if c and columns.count(c) > 1})
    if duplicated:
        result.file_errors.append(
            str(_l("A column appears twice: %(names)s.", names=", ".join(duplicated)))
        )
    if result.file_errors:
        return result
    try:
        for line_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(result.rows) >= MAX_ROWS:
                result.file_errors.append(
                    str(_l("The file has more than %(n)d rows; split it.", n=MAX_ROWS))
                )
                return result
            row = ImportRow(line=line_number, raw={})
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                row.errors.append(("", str(_l("This row has more cells than the header."))))
            for column, cell in zip(columns, cells, strict=False):
                if column in IMPORT_COLUMNS:
                    row.raw[column] = cell.strip()
            result.rows.append(row)
    except DomainError as exc:
        result.file_errors.append(str(exc.message))
        return result
    if not result.rows:
        result.file_errors.append(str(_l("The file has no rows under the header.")))
        return result
    total = len(result.rows)
    for done, row in enumerate(result.rows, start=1):
        _check_row(row)
        if progress and (done % 500 == 0 or done == total):
            progress(done, total)
    _check_duplicates(result.rows)
    return result


def summary(checked: ImportPreview) -> dict[str, Any]:
    """What the page lists (JSON for the import's row): the file's problems, every row with a
    problem (up to PREVIEW_ERROR_ROWS) and the first PREVIEW_VALID_ROWS valid rows, in order."""
    errors = checked.error_rows
    valid_shown = error_shown = 0
    rows = []
    for row in checked.rows:
        if row.errors and error_shown < PREVIEW_ERROR_ROWS:
            error_shown += 1
        elif not row.errors and valid_shown < PREVIEW_VALID_ROWS:
            valid_shown += 1
        else:
            continue
        rows.append(
            {
                "line": row.line,
                "name": row.raw.get("full_name", ""),
                "email": row.raw.get("email", ""),
                "errors": [[column, message] for column, message in row.errors],
            }
        )
    return {
        "file_errors": list(checked.file_errors),
        "unknown_columns": list(checked.unknown),  # headers staff may map by hand
        "rows": rows,
        "error_rows": len(errors),
        "valid_rows": len(checked.rows) - len(errors),
        "error_shown": error_shown,
        "valid_shown": valid_shown,
    }
