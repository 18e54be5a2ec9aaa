"""Member import from the files people have: either separator, Excel workbooks, headers in any
of the three languages, unknown columns mapped by hand on the preview, and a template."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook

from app.extensions import db
from app.members import importer
from app.members.models import Membership
from tests.factories import make_user
from tests.helpers import login, run_jobs
from tests.test_members_import_export import _upload


@pytest.fixture
def staff_client(app, client, ctx):
    make_user("import-staff@example.org", roles=["membership"])
    db.session.commit()
    login(client, "import-staff@example.org")
    return client


def _members() -> dict[str, Membership]:
    return {m.user.email: m for m in db.session.scalars(db.select(Membership))}


def _confirm(client, page) -> None:
    html = page.get_data(as_text=True)
    action = re.search(r'action="(/staff/members/import/\d+/confirm)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    upload = re.search(r'name="upload"[^>]*value="(\d+)"', html).group(1)
    client.post(action, data={"csrf_token": token, "upload": upload})
    run_jobs(client.application)


def test_semicolon_csv_with_danish_headers_imports(staff_client):
    data = (
        "\ufeffFulde navn;E-mailadresse;Telefon;Kommune;Nyhedsbrev;Status\n"
        "Søren Ødegård;soren@example.dk;+45 11 22 33 44;Aarhus Kommune;ja;Aktiv\n"
    ).encode()
    page = _upload(staff_client, data)
    assert page.status_code == 200, page.get_data(as_text=True)
    _confirm(staff_client, page)
    member = _members()["soren@example.dk"]
    assert member.full_name == "Søren Ødegård" and member.municipality == "Aarhus Kommune"
    assert member.status == "active"


def test_comma_csv_with_icelandic_headers_reads(ctx):
    data = "Fullt nafn,Netfang,Sími\nÞóra Jónsdóttir,thora@example.is,555 1234\n".encode()
    checked = importer.preview(data)
    assert checked.ok, checked.file_errors + [r.errors for r in checked.rows]
    assert checked.rows[0].raw == {
        "full_name": "Þóra Jónsdóttir",
        "email": "thora@example.is",
        "phone": "555 1234",
    }


def test_an_excel_workbook_imports(staff_client):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Full name", "E-mail address", "Joined on", "Newsletter"])
    sheet.append(["Ada Lovelace", "ada@example.org", "2024-05-01", "yes"])
    out = io.BytesIO()
    workbook.save(out)
    page = _upload(staff_client, out.getvalue(), name="members.xlsx")
    assert page.status_code == 200, page.get_data(as_text=True)
    _confirm(staff_client, page)
    assert str(_members()["ada@example.org"].joined_on) == "2024-05-01"


def test_unknown_columns_are_mapped_by_hand_on_the_preview(staff_client):
    data = "Navn;Mail;Skostørrelse\nKaren Blixen;karen@example.dk;38\n".encode()
    page = _upload(staff_client, data)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="column-mapping"' in html
    action = re.search(r'action="(/staff/members/import/\d+/columns)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    upload = action.split("/")[-2]
    # The headers are listed in the file's order: Navn, Mail, Skostørrelse.
    staff_client.post(
        action,
        data={
            "csrf_token": token,
            "upload": upload,
            "column-0": "full_name",
            "column-1": "email",
            "column-2": importer.SKIP,
        },
    )
    run_jobs(staff_client.application)
    checked = staff_client.get(f"/staff/members/import/{upload}")
    assert checked.status_code == 200, checked.get_data(as_text=True)
    _confirm(staff_client, checked)
    assert _members()["karen@example.dk"].full_name == "Karen Blixen"


def test_the_template_downloads_in_both_formats_and_imports_as_it_is(staff_client):
    csv_file = staff_client.get("/staff/members/import/template.csv")
    assert csv_file.status_code == 200
    header = csv_file.data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Full name,E-mail address,")  # the staff member reads English
    assert importer.preview(csv_file.data).ok
    xlsx = staff_client.get("/staff/members/import/template.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in next(sheet.iter_rows())][:2] == ["Full name", "E-mail address"]
    assert importer.preview(xlsx.data).ok
    page = staff_client.get("/staff/members/import").get_data(as_text=True)
    assert "/staff/members/import/template.xlsx" in page
