"""Deferred work: a transactional outbox of jobs, handed to RQ after commit and by a relay.

A route (or a job) asks for work with `enqueue_after_commit(func, *ids)`. That writes a row in
the `jobs` table in the request's own transaction: a rolled-back request (or savepoint) leaves no
row. After the commit the row is handed to RQ at once as a fast path. The relay (`relay_once`,
run by `flask jobs worker`) hands over every row that is due and was not run: the fast path
failed (Redis down), Redis lost its queue, a retry's back-off has passed, or the worker that
claimed it died. The database is the record of what must still happen; Redis makes it sooner.

Rows are handed to RQ in batches: one RQ job per queue for up to JOBS_BATCH_SIZE rows committed
together (or due together at the relay), run by `run_batch`, each row in an application context
of its own and under its own time limit. RQ's bookkeeping (the job's hash, its registries, status
updates, pickling) was about a fifth of a ticket's worker CPU when every row was an RQ job. A
worker that dies in a batch leaves the rows it had not started `pending`: the relay hands them
again after their lease, and the one it was running after the stale time.

A job is run by `run_job(job_id)`: it claims the row with a conditional UPDATE (so two hand-overs
of one row run it once at a time), calls the function, and marks the row done, or failed with an
exponential back-off and jitter, or dead after its last attempt. Job functions load their rows by
id, check they still make sense and are safe to run twice.
"""

from __future__ import annotations

import importlib
import logging
import random
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    event,
    or_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.page_cache import NOT_ON_PUBLIC_PAGES
from app.core.timeutil import UTCDateTime, utcnow
from app.core.unique import insert_unless_taken
from app.extensions import db, rq

log = logging.getLogger(__name__)

STATES = ("pending", "running", "done", "failed", "dead")
OPEN_STATES = ("pending", "running", "failed")


class Job(db.Model):
    """One piece of deferred work, written in the transaction that asked for it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_at", "state", "run_at"), NOT_ON_PUBLIC_PAGES)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(200))  # "module:function"
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(20), default="default")
    # Work that must exist once (a periodic run, the next batch of a mailing) carries a key.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def label(self) -> str:
        """The job's function name, for people."""
        return self.kind.rpartition(":")[2]


def kind_of(func: Callable[..., Any]) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _load(kind: str) -> Callable[..., Any]:
    module, _sep, name = kind.partition(":")
    return getattr(importlib.import_module(module), name)


def inline() -> bool:
    """True when jobs run in this process right after the commit (development without Redis)."""
    return bool(current_app.config.get("JOBS_INLINE"))


# --- asking for work --------------------------------------------------------------------------


# Written with one INSERT ... ON CONFLICT (key) DO NOTHING compiled once (app/core/unique.py):
# the ORM's unit of work cost about as much CPU as the statement's round trip, and a keyed job
# needed a savepoint around it. A row without a key never conflicts.
_WRITTEN = (
    "kind",
    "args",
    "queue",
    "key",
    "state",
    "attempts",
    "max_attempts",
    "run_at",
    "claimed_at",
    "last_error",
    "created_at",
    "finished_at",
)
_INSERT_JOB = insert_unless_taken(Job.__table__, _WRITTEN, ("key",), ("id",))


def enqueue_after_commit(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    key: str | None = None,
    max_attempts: int | None = None,
    delay: float = 0,
) -> int | None:
    """Write a job row in the current transaction; it is handed to RQ once that commits.
    Returns the row's id; with a `key`, a job that already exists under that key is not written
    again (None returned)."""
    config = current_app.config
    now = utcnow()
    values = {
        "kind": kind_of(func),
        "args": list(args),
        "queue": queue,
        "key": key,
        "state": "pending",
        "attempts": 0,
        "max_attempts": max_attempts or config["JOBS_MAX_ATTEMPTS"],
        # The fast path runs a new row at once; the relay only takes it over after a grace time.
        "run_at": now + timedelta(seconds=delay or config["JOBS_LEASE_SECONDS"]),
        "claimed_at": None,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }
    job_id = db.session.execute(_INSERT_JOB, values).scalar()
    if job_id is not None and not delay:
        hand_over_after_commit(job_id, queue)
    return job_id


def hand_over_after_commit(job_id: int, queue: str) -> None:
    """Hand this job row to RQ once the current transaction commits (not if it, or the
    savepoint it was written in, is rolled back)."""
    session = db.session()
    written_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault("pending_jobs", []).append((job_id, queue, written_in))


@event.listens_for(Session, "after_commit")
def _promote_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its work waits for the commit
        return
    pending = session.info.pop("pending_jobs", [])
    if pending:
        session.info.setdefault("ready_jobs", []).extend((j, q) for j, q, _tx in pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction) -> None:
    # A savepoint's rollback drops only the rows written inside it (or in savepoints within it).
    pending = session.info.get("pending_jobs")
    if pending:
        session.info["pending_jobs"] = [
            p for p in pending if not _inside(p[2], previous_transaction)
        ]


def _inside(transaction, ended) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def dispatch() -> list[int]:
    """Hand the jobs whose transaction has committed to RQ (or run them here when inline)."""
    session = db.session()
    ready = session.info.pop("ready_jobs", [])
    if not ready:
        return []
    ids = [job_id for job_id, _queue in ready]
    if inline():
        run_inline(ids)
        return ids
    try:
        send_to_rq(ready)
    except Exception as exc:  # Redis down: the rows stay pending and the relay hands them later
        log.warning("Jobs %s not handed to RQ now (%s); the relay will", ids, type(exc).__name__)
        _due_now(ids)
        return []
    return ids


def _due_now(job_ids: list[int]) -> None:
    """Make rows the fast path could not hand due at the relay's next turn, not after their
    grace time (on a connection of its own: the request's session may hold work of its own).
    Should RQ have taken them after all, a row still runs once: its claim is taken once."""
    try:
        with db.engine.begin() as connection:
            connection.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.state == "pending")
                .values(run_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except Exception as exc:  # the database too: the rows wait out their grace time
        log.warning("Jobs %s stay due after their grace time (%s)", job_ids, type(exc).__name__)


def send_to_rq(rows: list[tuple[int, str]]) -> None:
    """Hand these (job id, queue) rows to RQ in batches, in one round trip to Redis: all of
    them, or (an error raised) none."""
    groups = batches(rows)
    with rq.get_queue(groups[0][0]).connection.pipeline() as pipeline:
        for queue, job_ids in groups:
            hand_to_rq(job_ids, queue, pipeline)
        pipeline.execute()


def batches(rows: list[tuple[int, str]]) -> list[tuple[str, list[int]]]:
    """(queue, job ids) per RQ job: the rows of each queue, in order, JOBS_BATCH_SIZE at most."""
    size = max(1, current_app.config["JOBS_BATCH_SIZE"])
    by_queue: dict[str, list[int]] = {}
    for job_id, queue in rows:
        by_queue.setdefault(queue, []).append(job_id)
    return [
        (queue, ids[start : start + size])
        for queue, ids in by_queue.items()
        for start in range(0, len(ids), size)
    ]


def hand_to_rq(job_ids: int | list[int], queue: str, pipeline=None) -> None:
    """One RQ job that runs the rows in turn (in `pipeline`, when given: sent when it executes).
    Nobody reads its result: none is stored."""
    ids = [job_ids] if isinstance(job_ids, int) else list(job_ids)
    rq.get_queue(queue).enqueue(
        run_batch,
        ids,
        # Each row has its own limit (run_batch); this one only covers the batch as a whole.
        job_timeout=current_app.config["JOBS_TIMEOUT_SECONDS"] * len(ids),
        result_ttl=0,
        failure_ttl=3600,
        pipeline=pipeline,
    )


def run_inline(job_ids: list[int]) -> None:
    """Run jobs here, each in an app context of its own, with the jobs they ask for."""
    app = current_app._get_current_object()
    todo = list(job_ids)
    while todo:
        job_id = todo.pop(0)
        with app.app_context():
            run_job(job_id)
            session = db.session()
            todo.extend(j for j, _q in session.info.pop("ready_jobs", []))


def commit() -> None:
    """Commit the request's work once, then hand over the jobs it asked for."""
    db.session.commit()
    dispatch()


def init_app(app: Flask) -> None:
    """Dispatch ready jobs at the end of every request, in case a route committed directly."""

    @app.after_request
    def _dispatch_after_request(response):
        if db.session.registry.has():  # no session opened in this request: nothing to dispatch
            dispatch()
        return response


# --- running work -----------------------------------------------------------------------------


def stale_before() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])


# The claim and the done mark, built once: building the claim's UPDATE took about as much CPU
# as running it.
_CLAIM = (
    update(Job)
    .where(
        Job.id == bindparam("job_id"),
        or_(
            Job.state == "pending",
            (Job.state == "failed") & (Job.run_at <= bindparam("due_before")),
            (Job.state == "running") & (Job.claimed_at < bindparam("stale_before")),
        ),
    )
    .values(state="running", claimed_at=bindparam("now"), attempts=Job.attempts + 1)
    .returning(Job.kind, Job.args, Job.attempts, Job.max_attempts)
    .execution_options(synchronize_session=False)
)
_DONE = (
    update(Job)
    .where(Job.id == bindparam("job_id"))
    .values(state="done", finished_at=bindparam("now"), last_error=None)
    .execution_options(synchronize_session=False)
)


def _claim(job_id: int) -> tuple[str, list, int, int] | None:
    """Take a job for running unless it is done, dead, waiting for a retry or running elsewhere."""
    now = utcnow()
    row = db.session.execute(
        _CLAIM,
        {"job_id": job_id, "due_before": now, "stale_before": stale_before(), "now": now},
    ).first()
    db.session.commit()
    return tuple(row) if row is not None else None


def backoff(attempts: int) -> float:
    """Seconds before the next attempt: exponential, capped, with jitter."""
    config = current_app.config
    base = config["JOBS_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)
    return min(base, config["JOBS_BACKOFF_MAX_SECONDS"]) * random.uniform(0.75, 1.25)


def finish_running_job() -> None:
    """Record the job being run as done in the current transaction, whose commit is its last.

    For a job's very last write (the `sent` mark of its e-mail): the job's done is committed
    with it, and `run_job` needs no commit of its own afterwards. Outside `run_job`, nothing.
    """
    session = db.session()
    job_id = session.info.get("running_job")
    if job_id is not None:
        session.execute(_DONE, {"job_id": job_id, "now": utcnow()})
        session.info["finished_job"] = job_id


def _time_limit(seconds: int):
    """RQ's own timeout for one row of a batch: a JobTimeoutException in the row after `seconds`
    (run_job records it as the row's failure), so no row runs past the stale time."""
    from rq.timeouts import JobTimeoutException, TimerDeathPenalty, UnixSignalDeathPenalty

    if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
        return UnixSignalDeathPenalty(seconds, JobTimeoutException)
    return TimerDeathPenalty(seconds, JobTimeoutException)


def run_batch(job_ids: list[int]) -> str:
    """Run job rows handed over together, in turn, each in an application context of its own
    (its own database session) and under JOBS_TIMEOUT_SECONDS. An exception that escapes a row
    (the database gone) ends the batch: the rows not started stay pending for the relay."""
    if len(job_ids) == 1:  # RQ's timeout and the worker's context are this row's own
        return run_job(job_ids[0])
    app = current_app._get_current_object()
    timeout = app.config["JOBS_TIMEOUT_SECONDS"]
    outcomes: dict[str, int] = {}
    for job_id in job_ids:
        with app.app_context(), _time_limit(timeout):
            outcome = run_job(job_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ", ".join(f"{name} {count}" for name, count in outcomes.items())


def run_job(job_id: int) -> str:
    """Run one job row: claim it, call its function, record done, failed (with back-off) or dead."""
    claimed = _claim(job_id)
    if claimed is None:
        return "skipped"
    kind, args, attempts, max_attempts = claimed
    info = db.session().info
    info.pop("finished_job", None)
    info["running_job"] = job_id
    try:
        result = _load(kind)(*args)
    except Exception as exc:
        info.pop("finished_job", None)
        db.session.rollback()
        dead = attempts >= max_attempts
        now = utcnow()
        db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(
                state="dead" if dead else "failed",
                run_at=now + timedelta(seconds=0 if dead else backoff(attempts)),
                finished_at=now if dead else None,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        # The exception's text may hold personal data: the log gets its type, admins the text.
        log.warning(
            "Job %s (%s) failed on attempt %s/%s: %s",
            job_id,
            kind,
            attempts,
            max_attempts,
            type(exc).__name__,
        )
        return "dead" if dead else "failed"
    finally:
        info.pop("running_job", None)  # whatever happened: no later write finishes this job
    if info.pop("finished_job", None) != job_id or db.session().in_transaction():
        # Not recorded by the job's last commit (or the job left writes uncommitted): here.
        db.session.execute(_DONE, {"job_id": job_id, "now": utcnow()})
        db.session.commit()
    dispatch()  # jobs the job asked for and committed without `commit()`
    return result if isinstance(result, str) else "done"
