"""Reading an uploaded member file: CSV (comma, semicolon or tab; UTF-8) or an Excel workbook
(XLSX, its first sheet), as a header and rows of text cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"  # an XLSX file is a zip archive


class Unreadable(DomainError):
    """The file is neither a CSV file in UTF-8 nor an Excel workbook we can read."""


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(
            _l(
                "The file is not in UTF-8. Save it again as \u201cCSV UTF-8\u201d "
                "(in Excel: Save as, then CSV UTF-8) and upload it again."
            ),
            field="file",
        ) from None


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error:
        raise Unreadable(_l("The file is not a CSV file we can read."), field="file") from None


def _text(value) -> str:
    """A workbook cell as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    # Imported here: openpyxl costs memory in every process, and only imports need it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        for row in rows:
            yield [_text(v) for v in row]
    except Unreadable:
        raise
    except Exception:  # a broken or foreign zip: openpyxl raises many kinds
        raise Unreadable(
            _l("The file is not an Excel workbook we can read."), field="file"
        ) from None


def table_rows(data: bytes) -> Iterator[list[str]]:
    """The file's rows (the header first) as lists of text cells; raises Unreadable."""
    if data.startswith(XLSX_MAGIC):
        return _xlsx_rows(data)
    return _csv_rows(data)
