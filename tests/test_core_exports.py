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


# -- The staff exports offer both formats ---------------------------------------------------------


def _staff(client, email: str, role: str, locale: str):
    from app.extensions import db
    from tests.factories import make_user
    from tests.helpers import login

    user = make_user(email, roles=[role], locale=locale)
    db.session.commit()
    login(client, email)
    return user


def test_the_member_export_in_danish_has_danish_headers_semicolons_and_xlsx(client, ctx):
    from app.extensions import db
    from app.members import importer, privacy
    from tests.members_helpers import make_member

    member = make_member(full_name="Åse Ødegård", municipality="Aarhus Kommune")
    db.session.commit()
    staff = _staff(client, "medlem@example.org", "membership", "da")
    exported = client.get("/staff/members/export.csv", buffered=True)
    text = exported.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Fulde navn"] for r in rows] == ["Åse Ødegård"]
    assert rows[0]["Status"] == "Aktiv" and rows[0]["Nyhedsbrev"] == "nej"
    workbook = client.get("/staff/members/export.xlsx", buffered=True)
    assert workbook.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    header = [c.value for c in next(sheet.iter_rows())]
    assert header == text.splitlines()[0].split(";")
    # Both files import again, headers and status read in Danish.
    privacy.anonymise(member, staff.id)  # frees the e-mail address
    assert importer.preview(exported.data).ok
    assert importer.preview(workbook.data).ok


def test_registrations_and_poll_results_download_as_xlsx(client, ctx):
    from app.extensions import db
    from tests.factories import make_event, make_registration, make_user

    event = make_event("Julefrokost", capacity=10)
    make_registration(event, make_user(name="Þór Ísak", email="thor@example.is"))
    db.session.commit()
    _staff(client, "arr@example.org", "organiser", "is")
    response = client.get(f"/staff/events/{event.id}/registrations.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX_MIMETYPE
    values = [[c.value for c in row] for row in load_workbook(io.BytesIO(response.data)).active]
    assert values[0][:3] == ["Nafn", "Netfang", "Staða"]
    assert values[1][:2] == ["Þór Ísak", "thor@example.is"]
    page = client.get(f"/staff/events/{event.id}/").get_data(as_text=True)
    assert f"/staff/events/{event.id}/registrations.xlsx" in page
    csv_body = client.get(f"/staff/events/{event.id}/registrations.csv").data
    assert csv_body.decode("utf-8-sig").startswith("Nafn;Netfang;Staða;")
