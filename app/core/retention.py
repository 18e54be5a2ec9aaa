"""Retention: `flask outbox prune` and `flask audit archive` keep the big tables small.

Sent e-mail rows and finished job rows are only needed for a while (their unique keys stop a
job that runs twice from sending twice, which happens within minutes or hours, not months).
Audit entries are kept for a year in the database and after that in a compressed JSON-lines
file in the private storage area.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import date, datetime, timedelta
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import delete, func, select

from app.core.audit import AuditEntry
from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.core.storage import new_key, store
from app.core.timeutil import utcnow
from app.extensions import db

OUTBOX_DAYS = 90
AUDIT_DAYS = 365
BATCH = 5000


def _delete_in_batches(model, *conditions) -> int:
    """Delete matching rows a batch at a time (short locks), committing after each batch."""
    removed = 0
    while True:
        ids = db.session.scalars(select(model.id).where(*conditions).limit(BATCH)).all()
        if not ids:
            return removed
        db.session.execute(delete(model).where(model.id.in_(ids)))
        db.session.commit()
        removed += len(ids)


def prune_outbox(days: int = OUTBOX_DAYS) -> dict[str, int]:
    """Delete sent e-mail rows and done job rows older than `days`; commits as it goes."""
    cutoff = utcnow() - timedelta(days=days)
    return {
        "mail": _delete_in_batches(
            OutboxMessage, OutboxMessage.state == "sent", OutboxMessage.sent_at < cutoff
        ),
        "jobs": _delete_in_batches(Job, Job.state == "done", Job.finished_at < cutoff),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def archive_audit(days: int = AUDIT_DAYS) -> tuple[int, str | None]:
    """Move audit entries older than `days` to a gzipped JSON-lines file in private storage.

    All or nothing: the file is saved first, then the entries are deleted in the same
    transaction; if the delete or the commit fails, the file is removed again (storage.store).
    Returns how many entries were archived and the file's key (None when there were none).
    The caller commits.
    """
    cutoff = utcnow() - timedelta(days=days)
    last_id = db.session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.at < cutoff))
    if last_id is None:
        return 0, None
    columns = list(AuditEntry.__table__.columns)
    names = [column.name for column in columns]
    condition = (AuditEntry.at < cutoff, AuditEntry.id <= last_id)
    buffer = io.BytesIO()
    count = 0
    after_id = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb") as archive:
        while True:  # keyset pages: a million entries never sit in memory as objects
            rows = db.session.execute(
                select(*columns)
                .where(*condition, AuditEntry.id > after_id)
                .order_by(AuditEntry.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            for row in rows:
                line = {name: _plain(value) for name, value in zip(names, row, strict=True)}
                archive.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
            count += len(rows)
            after_id = rows[-1].id
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    key = new_key(f"audit-archive/{stamp}-before-{cutoff.date().isoformat()}", "jsonl.gz")
    store("private", key, buffer.getvalue(), "application/gzip")
    db.session.execute(delete(AuditEntry).where(*condition))
    return count, key


outbox_cli = AppGroup("outbox", help="The e-mail outbox and the job table.")
audit_cli = AppGroup("audit", help="The audit log.")


@outbox_cli.command("prune")
@click.option(
    "--days",
    default=OUTBOX_DAYS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Delete sent e-mail rows and done job rows older than this many days.",
)
def outbox_prune(days: int):
    """Delete sent e-mail rows and finished (done) job rows older than DAYS."""
    removed = prune_outbox(days)
    click.echo(
        f"Deleted {removed['mail']} sent e-mail rows and {removed['jobs']} done job rows "
        f"older than {days} days."
    )


@audit_cli.command("archive")
@click.option(
    "--days",
    default=AUDIT_DAYS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Archive audit entries older than this many days.",
)
def audit_archive(days: int):
    """Move audit entries older than DAYS to a compressed file in private storage, then delete
    them from the database (all or nothing)."""
    try:
        count, key = archive_audit(days)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if key is None:
        click.echo(f"No audit entries older than {days} days.")
    else:
        click.echo(f"Archived {count} audit entries older than {days} days to private/{key}.")
