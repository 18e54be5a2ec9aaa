"""Member import jobs: check an uploaded file, write it after staff confirm, sweep old files.

The uploaded file lives encrypted in private storage (app/core/crypto.py) only while it is
needed: it is deleted when the check finds problems, when the write ends (success, failure or
an exception), and by the sweep when nobody confirmed it within an hour.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core import crypto
from app.core.periodic import periodic
from app.core.storage import get_storage, new_key, store
from app.core.timeutil import utcnow
from app.extensions import db
from app.members import import_write, importer
from app.members.models import IMPORT_BUSY_STATES, MemberImport

log = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(hours=1)
# The page's list of rows (names and e-mail addresses) is kept this long after an import ends.
RESULT_DAYS = 7


def save_upload(data: bytes, actor_id: int) -> MemberImport:
    """Store the uploaded file encrypted and add its import row (state queued); flushes."""
    key = new_key("imports", "csv.enc")
    store("private", key, crypto.encrypt(data).encode(), "application/octet-stream")
    member_import = MemberImport(created_by_id=actor_id, state="queued", file_key=key)
    db.session.add(member_import)
    db.session.flush()
    return member_import


def _read(member_import: MemberImport) -> bytes:
    return crypto.decrypt_bytes(get_storage().read("private", member_import.file_key).decode())


def _delete_file(import_id: int) -> None:
    """Delete the import's file and forget its key (committed at once)."""
    key = db.session.scalar(select(MemberImport.file_key).where(MemberImport.id == import_id))
    if key:
        try:
            get_storage().delete("private", key)
        except Exception:  # the sweep tries again while the key is kept
            log.warning("Could not delete the file of member import %s", import_id)
            return
        db.session.execute(
            update(MemberImport).where(MemberImport.id == import_id).values(file_key=None)
        )
        db.session.commit()


def _progress(import_id: int, offset: int = 0, share: int = 100) -> Callable[[int, int], None]:
    """A callback that records the percent done on the import row in a transaction of its own,
    so that the page sees it while the import's own transaction is still open."""
    last = {"percent": -1}
    engine = db.engine
    if engine.dialect.name == "sqlite":  # a second writer would wait for the import's lock
        return lambda done, total: None

    def report(done: int, total: int) -> None:
        percent = offset + (done * share // total if total else 0)
        if percent == last["percent"]:
            return
        last["percent"] = percent
        with engine.begin() as conn:
            conn.execute(
                update(MemberImport.__table__)
                .where(MemberImport.__table__.c.id == import_id)
                .values(progress=percent, total_rows=total)
            )

    return report


def _finish(import_id: int, state: str, **values) -> None:
    db.session.execute(
        update(MemberImport)
        .where(MemberImport.id == import_id)
        .values(state=state, progress=100, finished_at=utcnow(), **values)
    )


def run_import(import_id: int) -> str:
    """Job: check a queued upload, or write a confirmed one (all rows or none).

    Safe to run twice: the row is claimed with a conditional UPDATE, so a second run of the
    same step finds nothing to do.
    """
    claimed = db.session.execute(
        update(MemberImport)
        .where(MemberImport.id == import_id, MemberImport.state.in_(("queued", "confirmed")))
        .values(
            state=case((MemberImport.state == "queued", "checking"), else_="importing"),
            progress=0,
        )
        .returning(MemberImport.state)
    ).scalar()
    db.session.commit()
    if claimed is None:
        return "stale"
    member_import = db.session.get(MemberImport, import_id)
    actor_id = member_import.created_by_id
    actor = db.session.get(User, actor_id) if actor_id else None
    locale = actor.locale if actor else current_app.config.get("DEFAULT_LANGUAGE", "da")
    outcome = "failed"
    try:
        with force_locale(locale):  # the problems are listed in the language of the uploader
            data = _read(member_import)
            mapping = (member_import.result or {}).get("mapping") or {}
            if claimed == "checking":
                outcome = _check(import_id, data, mapping)
            else:
                outcome = _write(import_id, data, actor_id, mapping)
    except Exception as exc:
        db.session.rollback()
        # Type and place only: a database error's text carries the row's values (names, e-mail).
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.error(
            "Member import %s failed: %s at %s:%s",
            import_id,
            type(exc).__name__,
            where.filename,
            where.lineno,
        )
        with force_locale(locale):
            message = str(_l("The import failed; nothing was imported. Try again."))
        _finish(import_id, "failed", result={"file_errors": [message], "rows": []})
        db.session.commit()
        outcome = "failed"
    finally:
        # Every way out of a job but "waiting for confirmation", or for columns mapped by hand.
        if outcome not in ("ready", "mapping"):
            db.session.rollback()
            _delete_file(import_id)
    return outcome


def _check(import_id: int, data: bytes, mapping: dict[str, str]) -> str:
    checked = importer.preview(data, progress=_progress(import_id), mapping=mapping)
    state = "ready" if checked.ok else "invalid"
    result = {**importer.summary(checked), "mapping": mapping}
    _finish(import_id, state, total_rows=len(checked.rows), result=result)
    db.session.commit()
    # Unknown headers: the file is kept (an hour at most) while staff map them by hand.
    return "mapping" if state == "invalid" and checked.unknown else state


def _write(import_id: int, data: bytes, actor_id: int | None, mapping: dict[str, str]) -> str:
    try:
        count = import_write.write(data, actor_id, _progress(import_id), mapping)
        _finish(import_id, "done", imported_count=count, total_rows=count)
        db.session.commit()
        return "done"
    except importer.ImportInvalid as exc:
        db.session.rollback()
        result = importer.summary(exc.checked)
    except IntegrityError:
        db.session.rollback()
        result = {
            "file_errors": [
                str(
                    _l(
                        "Someone changed the members while you imported; nothing was imported. "
                        "Try again."
                    )
                )
            ],
            "rows": [],
        }
    _finish(import_id, "failed", result=result)
    db.session.commit()
    return "failed"


@periodic(seconds=600)
def sweep_imports(older_than: timedelta = SWEEP_AFTER) -> int:
    """Delete import files older than an hour (never confirmed, or left by a dead worker) and
    mark those imports expired; returns how many were swept. Commits.

    The jobs worker's scheduler runs it every ten minutes; `flask members sweep-imports` too.
    It also drops the listed rows of imports that ended more than RESULT_DAYS days ago.
    """
    cutoff = utcnow() - older_than
    stale = db.session.scalars(
        select(MemberImport).where(
            MemberImport.created_at < cutoff,
            (MemberImport.file_key.is_not(None)) | MemberImport.state.in_(IMPORT_BUSY_STATES),
        )
    ).all()
    for member_import in stale:
        if member_import.state in (*IMPORT_BUSY_STATES, "ready"):
            member_import.state = "expired"
            member_import.finished_at = utcnow()
        db.session.commit()
        _delete_file(member_import.id)
    db.session.execute(
        update(MemberImport)
        .where(
            MemberImport.finished_at < utcnow() - timedelta(days=RESULT_DAYS),
            MemberImport.result.is_not(None),
        )
        .values(result=None)
    )
    db.session.commit()
    return len(stale)
