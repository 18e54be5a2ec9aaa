"""Spreadsheet exports: the separator Excel expects in the reader's language, a byte-order mark,
translated headers and values, formulas kept as text, and the same table as XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from app.core.exports import XLSX_MIMETYPE, csv_separator, table_response

ROWS = [
    [
        "Þóra Ægisdóttir",
        '=HYPERLINK("http://evil")',
        3,
        True,
        datetime(2026, 12, 22, 19, 0, tzinfo=UTC),
    ],
    ["Søren", "+45 12 34 56 78", 0, False, date(2026, 1, 5)],
]


def _response(app, language: str, fmt: str):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        response = table_response("people 2026", ["Navn", "Note", "Antal", "OK", "Tid"], ROWS, fmt)
        response.direct_passthrough = False
        return response, response.get_data()


@pytest.mark.parametrize(("language", "separator"), [("da", ";"), ("is", ";"), ("en", ",")])
def test_csv_uses_the_separator_excel_expects_with_a_bom(app, language, separator):
    response, body = _response(app, language, "csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="people-2026.csv"' in response.headers["Content-Disposition"]
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == separator.join(["Navn", "Note", "Antal", "OK", "Tid"])
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    # The formula is text; a phone number keeps its plus.
    assert rows[1][:3] == ["Þóra Ægisdóttir", '\'=HYPERLINK("http://evil")', "3"]
    assert rows[2][1] == "+45 12 34 56 78"
    # The time is local (Copenhagen, UTC+1 in December) to the minute; dates stay ISO.
    assert rows[1][4] == "2026-12-22 20:00"
    assert rows[2][4] == "2026-01-05"


@pytest.mark.parametrize(("language", "yes", "no"), [("da", "ja", "nej"), ("is", "já", "nei")])
def test_csv_writes_yes_and_no_in_the_readers_language(app, language, yes, no):
    _response_, body = _response(app, language, "csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [rows[1][3], rows[2][3]] == [yes, no]


def test_the_separator_follows_the_language():
    assert csv_separator("da") == ";"
    assert csv_separator("is") == ";"
    assert csv_separator("en") == ","


def test_xlsx_holds_the_same_table_with_typed_cells_and_no_formula(app):
    response, body = _response(app, "da", "xlsx")
    assert response.mimetype == XLSX_MIMETYPE
    assert 'filename="people-2026.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(body)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Navn", "Note", "Antal", "OK", "Tid"]
    assert values[1][0] == "Þóra Ægisdóttir"
    assert values[1][1] == '\'=HYPERLINK("http://evil")'
    assert sheet.cell(row=2, column=2).data_type == "s"
    assert values[1][2] == 3
    assert values[1][3] == "ja"
    assert values[1][4] == datetime(2026, 12, 22, 20, 0)
    assert values[2][4] == datetime(2026, 1, 5)
    assert sheet.cell(row=1, column=1).font.bold


def test_an_unknown_format_is_refused(app):
    with app.test_request_context("/"), pytest.raises(ValueError):
        table_response("x", ["a"], [], "pdf")
