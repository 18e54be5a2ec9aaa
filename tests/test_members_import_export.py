"""CSV import (a check job, then an all-or-nothing write job) and CSV export (UTF-8 with BOM,
audited)."""

import csv
import io
from datetime import date

import pytest

from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from app.members import consents, import_write, importer, national_id, privacy, records
from app.members.models import Membership
from tests.factories import make_user
from tests.helpers import login, post_form, run_jobs
from tests.members_helpers import kennitala, make_member

HEADER = "full_name;email;national_id;birthday;phone;municipality;joined_on;unions;newsletter\n"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode("utf-8")


@pytest.fixture
def staff_client(app, client, ctx):
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    login(client, "staff@example.org")
    return client


def _upload(client, data: bytes, name="members.csv"):
    """Upload the file, let the worker check it, and return the import's page."""
    uploaded = post_form(
        client,
        "/staff/members/import",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    run_jobs(client.application)
    return client.get(uploaded.headers["Location"])


def _count() -> int:
    return db.session.scalar(db.select(db.func.count(Membership.id)))


def test_preview_lists_every_row_error_and_writes_nothing(staff_client):
    taken_number = kennitala(date(1970, 1, 1))
    existing = make_member(national_id=taken_number)
    existing.user.email = "taken@example.org"
    db.session.commit()
    before = _count()
    good = kennitala(date(1991, 3, 4))
    data = _csv(
        f"Góð Manneskja;good@example.is;{good};;+354 555 0101;Kópavogsbær;2020-01-01;VR:12;yes",
        "Bad Checksum;bad1@example.is;120190-3279;;;;;;no",
        "Bad Date;bad2@example.is;;1990-02-30;;;;;",
        "Future;bad3@example.is;;2999-01-01;;;;;",
        "Dup Email;GOOD@example.is;;;;;;;",
        f"Dup Number;dup@example.is;{good};;;;;;",
        f"Taken Number;taken2@example.is;{taken_number};;;;;;",
        "Taken Email;taken@example.org;;;;;;;",
        ";noname@example.is;;;;;;;maybe",
    )
    response = _upload(staff_client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "8 rows have errors; nothing was imported" in html
    for line, text in [
        (3, "check digit"),
        (4, "not a valid date"),
        (5, "cannot be in the future"),
        (6, "same e-mail address is on line 2"),
        (7, "same national ID number is on line 2"),
        (8, "already in use by a member"),
        (9, "member with this e-mail address exists"),
        (10, "Enter the full name"),
        (10, "Write yes or no"),
    ]:
        row = html.split(f'data-line="{line}"', 1)[1].split("</tr>", 1)[0]
        assert text in row, (line, text)
    assert 'data-line="2"' in html  # the valid row is listed too
    assert "Import the members" not in html  # no button to write an invalid file
    assert _count() == before
    assert db.session.scalar(db.select(User).filter_by(email="good@example.is")) is None


def test_a_valid_file_is_written_in_one_go_after_the_preview(staff_client):
    number = kennitala(date(1991, 3, 4))
    data = _csv(
        f"Góð Manneskja;good@example.is;{number[:6]}-{number[6:]};;+354 555 0101;Kópavogsbær;"
        '2020-01-01;"VR:12; Efling:99";yes',
        "Þór Þórsson;thor@example.is;;12.05.1985;;Akureyrarbær;;;no",
    )
    before = _count()
    preview = _upload(staff_client, data)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "All 2 rows are valid" in html
    assert _count() == before  # the preview writes nothing
    import_id = html.split('name="upload" type="hidden" value="', 1)[1].split('"', 1)[0]
    confirm_url = f"/staff/members/import/{import_id}/confirm"
    done = post_form(
        staff_client,
        confirm_url,
        {"upload": import_id},
        page_url=f"/staff/members/import/{import_id}",
    )
    assert done.status_code == 302
    assert _count() == before  # the write is a job of its own
    run_jobs(staff_client.application)
    assert _count() == before + 2
    assert "2 members are imported" in staff_client.get(done.headers["Location"]).get_data(
        as_text=True
    )
    good = records.find_by_national_id(number)
    assert good.full_name == "Góð Manneskja" and good.status == "active"
    assert good.birthday == date(1991, 3, 4) and good.joined_on == date(2020, 1, 1)
    assert [(u.union, u.member_number) for u in good.unions] == [("VR", "12"), ("Efling", "99")]
    assert consents.consents_of(good.user)["newsletter"] is True
    thor = db.session.scalar(db.select(User).filter_by(email="thor@example.is"))
    assert records.membership_of(thor).birthday == date(1985, 5, 12)
    assert not thor.is_verified  # imported people claim their account with a password reset
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="members.imported"))
    assert entry.after == {"count": 2}
    again = post_form(staff_client, confirm_url, {"upload": import_id}, "/staff/members/import")
    assert again.status_code == 302 and _count() == before + 2
    run_jobs(staff_client.application)
    assert _count() == before + 2


def test_the_write_is_all_or_nothing(ctx, monkeypatch):
    """A row that fails while writing (here: the database refuses it) leaves no row behind."""
    data = _csv("One;one@example.is;;;;;;;", "Two;two@example.is;;;;;;;")
    staff = make_user(roles=["membership"])
    before = _count()
    real_preview = importer.preview

    def preview_then_sneak(data, progress=None, mapping=None):
        result = real_preview(data, progress, mapping)
        # Another session took row two's address between the check and the write.
        db.session.add(User(email="two@example.is", name="Sneaky", password_hash="!"))
        return result

    monkeypatch.setattr(importer, "preview", preview_then_sneak)
    from sqlalchemy.exc import IntegrityError

    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        import_write.write(data, staff.id)
    savepoint.rollback()
    assert _count() == before
    assert db.session.scalar(db.select(User).filter_by(email="one@example.is")) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("full_name;email\nÞóra;thora@example.is\n".encode("cp1252"), "not in UTF-8"),
        (b"full_name;phone\nAnna;123\n", "Missing column: E-mail address"),
        (b"full_name;email;shoe_size\nAnna;a@example.is;42\n", "Unknown column: shoe_size"),
        (b"full_name;email\n", "no rows under the header"),
        (b"", "The file is empty"),
    ],
)
def test_file_level_problems_are_explained(staff_client, data, message):
    before = _count()
    response = _upload(staff_client, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count() == before


def test_an_exported_file_imports_again_into_an_empty_register(staff_client, ctx):
    member = make_member(full_name="Round Trip", national_id=kennitala(date(1999, 9, 9)))
    db.session.commit()
    exported = staff_client.get("/staff/members/export.csv", buffered=True).data
    privacy.anonymise(member, make_user(roles=["membership"]).id)  # frees e-mail and number
    # the anonymised row is still exported (statistics), so import only the live row
    lines = exported.decode("utf-8-sig").splitlines()
    result = importer.preview(("\n".join(lines[:2]) + "\n").encode())
    assert result.ok, [r.errors for r in result.rows] + result.file_errors


def test_export_is_utf8_with_bom_follows_the_filter_and_is_audited(staff_client):
    number = kennitala(date(1985, 10, 10))
    make_member(
        full_name="Þórunn Ægisdóttir",
        municipality="Ísafjarðarbær",
        national_id=number,
        phone="+354 456 7890",
    )
    make_member(full_name="Søren Ødegård", municipality="Aarhus Kommune")
    make_member(full_name="Test Record", municipality="Ísafjarðarbær", is_test=True)
    formula = make_member(full_name='=HYPERLINK("http://x")', municipality="Ísafjarðarbær")
    db.session.commit()
    response = staff_client.get(
        "/staff/members/export.csv", query_string={"municipality": "Ísafjarðarbær"}, buffered=True
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")  # would raise on anything but UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    names = sorted(r["Full name"] for r in rows)
    assert names == sorted(["Þórunn Ægisdóttir", '\'=HYPERLINK("http://x")'])
    thorunn = next(r for r in rows if r["Full name"] == "Þórunn Ægisdóttir")
    assert thorunn["National ID number"] == f"{number[:6]}-{number[6:]}"
    assert thorunn["Phone"] == "+354 456 7890"  # a phone number is not mistaken for a formula
    assert thorunn["Status"] == "Active"
    assert formula.id in {int(r["Member ID"]) for r in rows}
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="members.exported"))
    assert entry.after == {"filter": {"municipality": "Ísafjarðarbær"}, "count": 2}
    assert entry.actor.email == "staff@example.org"
    assert national_id.mask("IS", number) not in str(entry.after)


def test_an_export_filtered_by_national_id_logs_the_number_masked(staff_client):
    number = kennitala(date(1966, 6, 16))
    make_member(full_name="Exact Match", national_id=number)
    db.session.commit()
    written = f"{number[:6]}-{number[6:]}"
    response = staff_client.get(
        "/staff/members/export.csv", query_string={"q": written}, buffered=True
    )
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["Full name"] for r in rows] == ["Exact Match"]
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="members.exported"))
    assert entry.after["filter"] == {"q": f"{number[:6]}-****"}
    assert number[6:] not in str(entry.after)
