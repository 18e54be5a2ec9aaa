"""Retention: `flask outbox prune` and `flask audit archive` (all or nothing)."""

from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.core.storage import get_storage
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user


def _mail(key: str, state: str, age_days: int) -> None:
    at = utcnow() - timedelta(days=age_days)
    db.session.add(
        OutboxMessage(
            key=key,
            to_address="a@example.org",
            locale="da",
            template="ticket",
            state=state,
            created_at=at,
            sent_at=at if state == "sent" else None,
        )
    )


def _job(key: str, state: str, age_days: int) -> None:
    at = utcnow() - timedelta(days=age_days)
    db.session.add(
        Job(
            kind="app.events.tasks:make_ticket",
            args=[1],
            key=key,
            state=state,
            created_at=at,
            run_at=at,
            finished_at=at if state in ("done", "dead") else None,
        )
    )


def test_outbox_prune_deletes_old_sent_mail_and_old_done_jobs_only(app, ctx):
    _mail("old-sent", "sent", 120)
    _mail("new-sent", "sent", 10)
    _mail("old-failed", "failed", 120)
    _mail("old-queued", "queued", 120)
    _job("old-done", "done", 120)
    _job("new-done", "done", 10)
    _job("old-dead", "dead", 120)
    _job("old-pending", "pending", 120)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 sent e-mail rows and 1 done job rows older than 90 days." in result.output
    db.session.expire_all()
    assert set(db.session.scalars(select(OutboxMessage.key))) == {
        "new-sent",
        "old-failed",
        "old-queued",
    }
    assert set(db.session.scalars(select(Job.key))) == {"new-done", "old-dead", "old-pending"}

    result = app.test_cli_runner().invoke(args=["outbox", "prune", "--days", "5"])
    assert result.exit_code == 0 and "Deleted 1 sent e-mail rows and 1 done job rows" in (
        result.output
    )
    assert app.test_cli_runner().invoke(args=["outbox", "prune", "--days", "0"]).exit_code == 2


def _entries(user) -> dict[str, int]:
    made = {}
    for action, age in [("old.one", 400), ("old.two", 366), ("recent", 364), ("today", 0)]:
        entry = AuditEntry(
            action=action,
            object_type="membership",
            object_id=7,
            actor_id=user.id,
            subject_user_id=user.id,
            after={"city": "Þórshöfn"},
            at=utcnow() - timedelta(days=age),
        )
        db.session.add(entry)
        db.session.flush()
        made[action] = entry.id
    db.session.commit()
    return made


def test_audit_archive_moves_old_entries_to_a_compressed_file(app, ctx):
    user = make_user()
    made = _entries(user)
    result = app.test_cli_runner().invoke(args=["audit", "archive"])
    assert result.exit_code == 0, result.output
    key = re.search(r"private/(\S+\.jsonl\.gz)", result.output).group(1)
    assert "Archived 2 audit entries older than 365 days" in result.output
    db.session.expire_all()
    assert set(db.session.scalars(select(AuditEntry.action))) == {"recent", "today"}
    lines = gzip.decompress(get_storage().read("private", key)).decode().splitlines()
    archived = [json.loads(line) for line in lines]
    assert [(e["id"], e["action"]) for e in archived] == [
        (made["old.one"], "old.one"),
        (made["old.two"], "old.two"),
    ]
    assert archived[0]["after"] == {"city": "Þórshöfn"} and archived[0]["actor_id"] == user.id
    assert archived[0]["at"].startswith(str((utcnow() - timedelta(days=400)).date()))
    again = app.test_cli_runner().invoke(args=["audit", "archive"])
    assert again.exit_code == 0 and "No audit entries older than 365 days." in again.output
    get_storage().delete("private", key)


def test_audit_archive_keeps_everything_when_saving_the_file_fails(app, ctx, monkeypatch):
    made = _entries(make_user())
    storage = get_storage()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "save", broken)
    result = app.test_cli_runner().invoke(args=["audit", "archive"])
    assert result.exit_code != 0
    db.session.expire_all()
    assert len(db.session.scalars(select(AuditEntry.id)).all()) == len(made)


def test_audit_archive_removes_the_file_when_the_delete_fails(app, ctx, monkeypatch):
    from app.core import retention

    made = _entries(make_user())
    saved = []
    storage = get_storage()
    original_save = storage.save

    def save(area, key, data, content_type):
        saved.append(key)
        original_save(area, key, data, content_type)

    def failing_delete(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(storage, "save", save)
    monkeypatch.setattr(retention, "delete", failing_delete)
    result = app.test_cli_runner().invoke(args=["audit", "archive"])
    assert result.exit_code != 0
    db.session.expire_all()
    assert len(db.session.scalars(select(AuditEntry.id)).all()) == len(made)
    assert len(saved) == 1 and not storage.exists("private", saved[0])


@pytest.mark.parametrize("command", [["outbox", "prune", "--help"], ["audit", "archive", "--help"]])
def test_retention_commands_document_their_defaults(app, command):
    output = app.test_cli_runner().invoke(args=command).output
    assert "default: 90" in output if command[0] == "outbox" else "default: 365" in output
