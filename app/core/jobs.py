"""Background jobs: asked for during a request, enqueued only after its commit, with ids only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db, rq

log = logging.getLogger(__name__)

MAIL_RETRY = Retry(max=5, interval=[10, 60, 300, 900, 3600])


@dataclass
class PendingJob:
    func: Callable[..., Any]
    args: tuple
    queue: str
    options: dict = field(default_factory=dict)


def enqueue_after_commit(func: Callable[..., Any], *args: Any, queue: str = "default", **options):
    """Ask for a job to be enqueued once the transaction commits (never if it rolls back)."""
    db.session.connection()  # begin the transaction now, so a rollback is seen and drops the job
    db.session.info.setdefault("pending_jobs", []).append(PendingJob(func, args, queue, options))


@event.listens_for(Session, "after_commit")
def _promote_pending(session: Session) -> None:
    pending = session.info.pop("pending_jobs", [])
    if pending:
        session.info.setdefault("ready_jobs", []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    session.info.pop("pending_jobs", None)


def dispatch() -> list[str]:
    """Enqueue the jobs whose transaction has committed; returns their job ids."""
    session = db.session()
    ready = session.info.pop("ready_jobs", [])
    ids = []
    for job in ready:
        try:
            queued = rq.get_queue(job.queue).enqueue(job.func, *job.args, **job.options)
            ids.append(queued.id)
        except Exception:  # a queue outage must not turn a saved request into an error page
            log.exception("Could not enqueue %s on %s", job.func.__name__, job.queue)
    return ids


def commit() -> None:
    """Commit the request's work once, then enqueue the jobs it asked for."""
    db.session.commit()
    dispatch()


def init_app(app: Flask) -> None:
    """Dispatch ready jobs at the end of every request, in case a route committed directly."""

    @app.after_request
    def _dispatch_after_request(response):
        if db.session.registry.has():  # no session opened in this request: nothing to dispatch
            dispatch()
        return response


def failed_jobs() -> list[dict[str, Any]]:
    """Every failed job on every queue, newest first."""
    from rq.registry import FailedJobRegistry

    rows = []
    for name, queue in rq.queues.items():
        registry = FailedJobRegistry(queue=queue)
        for job in queue.job_class.fetch_many(registry.get_job_ids(), connection=queue.connection):
            if job is None:
                continue
            rows.append(
                {
                    "id": job.id,
                    "queue": name,
                    "func": job.func_name,
                    "args": job.args,
                    "ended_at": job.ended_at,
                    "error": (job.latest_result().exc_string if job.latest_result() else "") or "",
                }
            )
    rows.sort(key=lambda r: r["ended_at"] or 0, reverse=True)
    return rows


def _failed_registry(job_id: str):
    from rq.registry import FailedJobRegistry

    for queue in rq.queues.values():
        registry = FailedJobRegistry(queue=queue)
        if job_id in registry.get_job_ids():
            return registry
    return None


def retry_failed(job_id: str) -> bool:
    """Put a failed job back on its queue."""
    registry = _failed_registry(job_id)
    if registry is None:
        return False
    registry.requeue(job_id)
    return True


def delete_failed(job_id: str) -> bool:
    """Remove a failed job for good."""
    registry = _failed_registry(job_id)
    if registry is None:
        return False
    registry.remove(job_id, delete_job=True)
    return True
