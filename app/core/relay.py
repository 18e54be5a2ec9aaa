"""The relay: hands due job rows to RQ (or runs them when inline), and what admins see of it.

Runs in a thread of `flask jobs worker` (app/core/worker.py) or alone as `flask jobs relay`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, or_, select, update

from app.core.jobs import (
    STATES,
    Job,
    hand_over_after_commit,
    inline,
    run_inline,
    send_to_rq,
    stale_before,
)
from app.core.periodic import schedule_periodic
from app.core.timeutil import utcnow
from app.extensions import db

log = logging.getLogger(__name__)


# --- the relay --------------------------------------------------------------------------------


def relay_once(limit: int = 200) -> int:
    """Hand every due job to RQ (or run it here when inline); returns how many were handed.

    Due: pending past its grace time, failed past its back-off, or running past the stale time
    (its worker died). Rows are claimed with FOR UPDATE SKIP LOCKED, so relays side by side
    never hand the same row twice at once; a handed row gets a lease before it is due again.
    """
    now = utcnow()
    rows = db.session.execute(
        select(Job.id, Job.queue, Job.state)
        .where(
            or_(
                Job.state.in_(("pending", "failed")) & (Job.run_at <= now),
                (Job.state == "running") & (Job.claimed_at < stale_before()),
            )
        )
        .order_by(Job.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    ids = [row.id for row in rows]
    lease = now + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    # Handed rows are pending again (a retry, or a row whose worker died: its attempt was
    # counted when it was claimed), due again only if nobody runs them within the lease.
    db.session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(run_at=lease, state="pending")
        .execution_options(synchronize_session=False)
    )
    stale = [row.id for row in rows if row.state == "running"]
    if stale:
        log.warning("Jobs %s were claimed by a worker that stopped; handing them again", stale)
    if inline():
        db.session.commit()
        run_inline(ids)
        return len(ids)
    try:
        send_to_rq([(row.id, row.queue) for row in rows])
    except Exception as exc:  # none handed: the rows keep no lease and are due at the next turn
        log.warning("Relay: RQ refused the jobs (%s); trying again shortly", type(exc).__name__)
        db.session.rollback()
        return 0
    db.session.commit()
    return len(ids)


# --- the worker's relay thread ----------------------------------------------------------------


def relay_forever(app: Flask, stop: threading.Event, interval: float | None = None) -> None:
    """Relay and schedule until `stop` is set; errors are logged and the loop goes on."""
    interval = interval or app.config["JOBS_RELAY_INTERVAL"]
    while not stop.is_set():
        try:
            with app.app_context():
                schedule_periodic()
                while relay_once() and not stop.is_set():
                    pass
        except Exception as exc:  # a database or Redis outage: try again on the next tick
            log.warning("Relay tick failed: %s", type(exc).__name__)
        stop.wait(interval)


# --- what admins see --------------------------------------------------------------------------


def overview() -> dict[str, Any]:
    """Counts per state and the age of the oldest due pending job (seconds)."""
    counts = dict(
        db.session.execute(
            select(Job.state, func.count()).where(Job.state != "done").group_by(Job.state)
        ).all()
    )
    oldest = db.session.scalar(select(func.min(Job.created_at)).where(Job.state == "pending"))
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return {"counts": {state: counts.get(state, 0) for state in STATES}, "oldest_pending": age}


def open_jobs(states: tuple[str, ...], limit: int = 200) -> list[Job]:
    """Jobs in the given states, newest first."""
    return list(
        db.session.scalars(
            select(Job).where(Job.state.in_(states)).order_by(Job.id.desc()).limit(limit)
        )
    )


def retry(job_id: int) -> bool:
    """Give a failed or dead job a new try now, with fresh attempts."""
    queue = db.session.scalar(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(("failed", "dead")))
        .values(state="pending", attempts=0, run_at=utcnow(), finished_at=None)
        .returning(Job.queue)
        .execution_options(synchronize_session=False)
    )
    if queue is not None:
        hand_over_after_commit(job_id, queue)
    return queue is not None


def discard(job_id: int) -> bool:
    """Delete a job that is not running."""
    return bool(
        db.session.execute(
            Job.__table__.delete().where(
                Job.id == job_id, Job.state.in_(("pending", "failed", "dead"))
            )
        ).rowcount
    )


def init_app(app: Flask) -> None:
    """Without Redis nothing else relays: the web process does it now and then, after a request.

    Development only (JOBS_INLINE): a job whose hand-over was missed (work committed outside a
    request), a failed job's retry and the periodic jobs then still happen while `flask run` serves.
    """
    if not app.config.get("JOBS_INLINE") or app.testing:
        return
    last = [0.0]

    @app.after_request
    def _relay_now_and_then(response):
        now = time.monotonic()
        if now - last[0] >= app.config["JOBS_INLINE_RELAY_SECONDS"]:
            last[0] = now
            try:
                schedule_periodic()
                relay_once()
            except Exception as exc:  # the page was served; the next request tries again
                log.warning("In-process relay failed: %s", type(exc).__name__)
        return response
