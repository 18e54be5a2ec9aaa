"""Member import as background jobs: through the real worker, all or nothing, the uploaded file
encrypted at rest and gone afterwards, progress for the page, and the sweep of old files."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core import crypto
from app.core.storage import get_storage
from app.core.timeutil import utcnow
from app.extensions import db
from app.members import consents, import_write
from app.members.models import MemberImport, Membership
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member

HEADER = "full_name;email;language;unions;newsletter;reachable\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


@pytest.fixture
def staff_client(app, client, ctx):
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    login(client, "staff@example.org")
    return client


def _upload(client, data: bytes) -> MemberImport:
    response = post_form(
        client,
        "/staff/members/import",
        {"file": (io.BytesIO(data), "members.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    import_id = int(re.search(r"/import/(\d+)", response.headers["Location"]).group(1))
    return db.session.get(MemberImport, import_id)


def _confirm(client, member_import: MemberImport):
    url = f"/staff/members/import/{member_import.id}"
    return post_form(client, f"{url}/confirm", {"upload": str(member_import.id)}, page_url=url)


def _members() -> int:
    return db.session.scalar(select(func.count(Membership.id)))


def _file_exists(key: str | None) -> bool:
    return key is not None and get_storage().exists("private", key)


def test_an_import_runs_through_the_worker_in_batches(app, staff_client, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "DEFAULT_LANGUAGE", "en")
    monkeypatch.setattr(import_write, "WRITE_BATCH", 2)  # five rows: three batches
    data = _csv(
        "Anna Jensen;anna@example.dk;da;HK:1;yes;no",
        'Jón Jónsson;jon@example.is;is;"VR:2; Efling:3";no;yes',
        "Lee Smith;lee@example.org;;;;",
        "Sigrún Björk;sigrun@example.is;IS;;yes;",
        "Per Holm;per@example.dk;;3F:44;;yes",
    )
    before = _members()
    upload = _upload(staff_client, data)
    key = upload.file_key
    stored = get_storage().read("private", key)
    assert b"anna@example.dk" not in stored  # encrypted at rest
    assert crypto.decrypt_bytes(stored.decode()) == data
    status = staff_client.get(f"/staff/members/import/{upload.id}/status").get_json()
    assert status["state"] == "queued" and status["busy"] is True
    page = staff_client.get(f"/staff/members/import/{upload.id}").get_data(as_text=True)
    assert 'id="import-status"' in page and "js/member-import.js" in page

    run_jobs()
    status = staff_client.get(f"/staff/members/import/{upload.id}/status").get_json()
    assert status == {
        "state": "ready",
        "busy": False,
        "progress": 100,
        "total_rows": 5,
        "imported": None,
    }
    assert _members() == before and _file_exists(key)  # kept until staff confirm
    assert _confirm(staff_client, upload).status_code == 302
    assert staff_client.get(f"/staff/members/import/{upload.id}/status").get_json()["busy"]
    run_jobs()

    db.session.expire_all()
    upload = db.session.get(MemberImport, upload.id)
    assert upload.state == "done" and upload.imported_count == 5
    assert _members() == before + 5
    assert upload.file_key is None and not _file_exists(key)
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.like("%.%")))}
    assert users["anna@example.dk"].locale == "da" and users["jon@example.is"].locale == "is"
    assert users["sigrun@example.is"].locale == "is"
    assert users["lee@example.org"].locale == "en" and users["per@example.dk"].locale == "en"
    jon = db.session.scalar(
        select(Membership).where(Membership.user_id == users["jon@example.is"].id)
    )
    assert [(u.union, u.member_number) for u in jon.unions] == [("VR", "2"), ("Efling", "3")]
    assert [e.action for e in jon.history] == ["imported"] and jon.status == "active"
    assert consents.consents_of(users["anna@example.dk"]) == {
        "reachable": False,
        "groupable": False,
        "newsletter": True,
    }
    assert consents.consents_of(users["per@example.dk"])["reachable"] is True
    history = consents.consent_history(users["jon@example.is"])
    assert {(e.kind, e.given, e.source) for e in history} == {
        ("newsletter", False, "import"),
        ("reachable", True, "import"),
    }
    page = staff_client.get(f"/staff/members/import/{upload.id}").get_data(as_text=True)
    assert "5 members are imported" in page


def test_a_row_that_became_invalid_before_the_write_imports_nothing(staff_client, run_jobs):
    upload = _upload(staff_client, _csv("One Person;one@example.is;;;;", "Two;two@example.is;;;;"))
    key = upload.file_key
    run_jobs()
    taken = make_member(user=make_user("two@example.is"))  # registered meanwhile
    db.session.commit()
    before = _members()
    _confirm(staff_client, upload)
    run_jobs()
    db.session.expire_all()
    upload = db.session.get(MemberImport, upload.id)
    assert upload.state == "failed" and taken.id
    assert _members() == before
    assert db.session.scalar(select(User).filter_by(email="one@example.is")) is None
    assert upload.file_key is None and not _file_exists(key)
    page = staff_client.get(f"/staff/members/import/{upload.id}")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    row = html.split('data-line="3"', 1)[1].split("</tr>", 1)[0]
    assert "member with this e-mail address exists" in row
    assert "1 row has errors; nothing was imported" in html


def test_an_error_while_writing_imports_nothing_and_deletes_the_file(
    staff_client, run_jobs, monkeypatch
):
    monkeypatch.setattr(import_write, "WRITE_BATCH", 1)
    upload = _upload(staff_client, _csv("One;one@example.is;;;;", "Two;two@example.is;;;;"))
    key = upload.file_key
    run_jobs()
    calls = []
    real = import_write._write_batch

    def second_batch_breaks(rows, *args):
        calls.append(rows)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(rows, *args)

    monkeypatch.setattr(import_write, "_write_batch", second_batch_breaks)
    before = _members()
    _confirm(staff_client, upload)
    run_jobs()
    db.session.expire_all()
    upload = db.session.get(MemberImport, upload.id)
    assert len(calls) == 2 and upload.state == "failed"
    assert _members() == before  # the first batch was rolled back too
    assert db.session.scalar(select(User).filter_by(email="one@example.is")) is None
    assert upload.file_key is None and not _file_exists(key)
    html = staff_client.get(f"/staff/members/import/{upload.id}").get_data(as_text=True)
    assert "The import failed; nothing was imported" in html


def test_a_file_with_problems_is_deleted_right_after_the_check(staff_client, run_jobs):
    upload = _upload(staff_client, _csv("Bad Language;bad@example.is;fr;;;"))
    key = upload.file_key
    run_jobs()
    db.session.expire_all()
    upload = db.session.get(MemberImport, upload.id)
    assert upload.state == "invalid" and upload.file_key is None and not _file_exists(key)
    html = staff_client.get(f"/staff/members/import/{upload.id}").get_data(as_text=True)
    assert "Write da, en or is." in html
    refused = _confirm(staff_client, upload)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/members/import")


def test_the_sweep_deletes_files_older_than_an_hour(app, staff_client, run_jobs):
    old = _upload(staff_client, _csv("Old;old@example.is;;;;"))
    new = _upload(staff_client, _csv("New;new@example.is;;;;"))
    run_jobs()
    db.session.expire_all()
    old, new = db.session.get(MemberImport, old.id), db.session.get(MemberImport, new.id)
    old_key, new_key = old.file_key, new.file_key
    assert old.state == new.state == "ready" and _file_exists(old_key) and _file_exists(new_key)
    old.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["members", "sweep-imports"])
    assert result.exit_code == 0 and "Swept 1 member imports." in result.output
    db.session.expire_all()
    old, new = db.session.get(MemberImport, old.id), db.session.get(MemberImport, new.id)
    assert old.state == "expired" and old.file_key is None and not _file_exists(old_key)
    assert new.state == "ready" and _file_exists(new_key)
    html = staff_client.get(f"/staff/members/import/{old.id}").get_data(as_text=True)
    assert "was not confirmed within an hour" in html
    upload_page = staff_client.get("/staff/members/import").get_data(as_text=True)
    assert f'href="/staff/members/import/{new.id}"' in upload_page  # still waiting: linked
    assert _confirm(staff_client, old).status_code == 302
    run_jobs()
    assert db.session.scalar(select(User).filter_by(email="old@example.is")) is None


def test_the_sweep_drops_the_listed_rows_a_week_after_an_import_ended(staff_client, run_jobs):
    from app.members.tasks import sweep_imports

    old = _upload(staff_client, _csv("Bad;bad@example.is;xx;;;"))
    new = _upload(staff_client, _csv("Worse;worse@example.is;yy;;;"))
    run_jobs()
    db.session.expire_all()
    old, new = db.session.get(MemberImport, old.id), db.session.get(MemberImport, new.id)
    assert old.result["rows"][0]["email"] == "bad@example.is"
    old.finished_at = utcnow() - timedelta(days=8)
    db.session.commit()
    sweep_imports()
    db.session.expire_all()
    assert db.session.get(MemberImport, old.id).result is None
    assert db.session.get(MemberImport, new.id).result["rows"][0]["email"] == "worse@example.is"


def test_the_jobs_worker_runs_the_sweep_every_ten_minutes(app, ctx):
    from app.core.jobs import kind_of
    from app.core.periodic import PERIODIC
    from app.members.tasks import sweep_imports

    assert PERIODIC[kind_of(sweep_imports)] == (600, sweep_imports)


def test_a_failed_import_logs_no_personal_data(staff_client, run_jobs, monkeypatch, caplog):
    upload = _upload(staff_client, _csv("Secret Person;secret@example.is;;;;"))
    run_jobs()

    def leaky(rows, *args):
        raise RuntimeError(f"cannot write {rows[0].values['email']}")

    monkeypatch.setattr(import_write, "_write_batch", leaky)
    _confirm(staff_client, upload)
    with caplog.at_level("INFO"):
        run_jobs()
    assert "RuntimeError" in caplog.text and "Member import" in caplog.text
    assert "secret@example.is" not in caplog.text and "Secret Person" not in caplog.text
