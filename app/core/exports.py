"""Tables for spreadsheets: one call gives CSV (the separator Excel expects in the reader's
language, UTF-8 with a byte-order mark) or XLSX, cells guarded against formulas.

Usage in a staff route::

    return table_response("registrations-12", [_("Name"), _("E-mail address")], rows, fmt)

`rows` is a list, or an iterator that streams the CSV (a table read in batches); `fmt` is
"csv" or "xlsx" (routes take it from the URL: `export.csv` and `export.xlsx`, see the macro
`export_buttons` in macros/exports.html). Headers are passed already translated.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from flask import Response, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _

from app.core.text import csv_cell
from app.core.timeutil import organisation_tz

FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel reads a CSV with the list separator of the system's region: a semicolon wherever the
# decimal mark is a comma (Danish, Icelandic), a comma in English.
_COMMA_LANGUAGES = ("en",)
_FLUSH_EVERY = 200  # rows per streamed chunk
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_separator(language: str | None = None) -> str:
    """The separator Excel expects for the reader's language (the current locale by default)."""
    language = language or str(get_locale() or "da").split("_")[0]
    return "," if language in _COMMA_LANGUAGES else ";"


def _local(value: datetime) -> datetime:
    """An aware time in the organisation's timezone, without tzinfo (spreadsheets have none)."""
    if value.tzinfo is not None:
        value = value.astimezone(organisation_tz()).replace(tzinfo=None)
    return value


def text_cell(value: Any) -> str:
    """A value as CSV text: yes/no in the reader's language, times to the minute, local."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int | float) or value is None or isinstance(value, date):
        return csv_cell(value)
    return csv_cell(str(value))


def xlsx_cell(value: Any) -> Any:
    """A value as an XLSX cell: numbers and dates stay typed, text is guarded."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return _local(value)
    if value is None or isinstance(value, int | float | date):
        return value
    # openpyxl stores text beginning with "=" as a formula; the guard makes it text.
    return csv_cell(str(value))


def csv_chunks(
    headers: Sequence[Any], rows: Iterable[Sequence[Any]], separator: str | None = None
) -> Iterator[bytes]:
    """The table as CSV bytes in chunks: a byte-order mark, the header, then the rows."""
    separator = separator or csv_separator()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator)
    buffer.write("\ufeff")
    writer.writerow([csv_cell(str(h)) for h in headers])
    for i, row in enumerate(rows, 1):
        writer.writerow([text_cell(c) for c in row])
        if i % _FLUSH_EVERY == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(
    headers: Sequence[Any], rows: Iterable[Sequence[Any]], title: str | None = None
) -> bytes:
    """The table as an XLSX workbook of one sheet, header row bold and frozen."""
    # Imported here: openpyxl costs memory in every process, and only exports need it.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or "Sheet1")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=csv_cell(str(h)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=xlsx_cell(value))
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _filename(stem: str, fmt: str) -> str:
    stem = re.sub(r"\.(csv|xlsx)$", "", stem)
    return f"{_SAFE_FILENAME.sub('-', stem).strip('-') or 'export'}.{fmt}"


def table_response(
    filename: str,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    fmt: str = "csv",
    sheet_title: str | None = None,
) -> Response:
    """A download of the table as CSV (streamed) or XLSX; `filename` without its extension."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    name = _filename(filename, fmt)
    headers_out = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if fmt == "xlsx":
        return Response(
            xlsx_bytes(headers, rows, sheet_title), mimetype=XLSX_MIMETYPE, headers=headers_out
        )
    chunks = csv_chunks(headers, rows, csv_separator())
    # A list is written at once; an iterator (a large table read in batches) is streamed.
    body = b"".join(chunks) if isinstance(rows, list | tuple) else stream_with_context(chunks)
    return Response(body, content_type="text/csv; charset=utf-8", headers=headers_out)
