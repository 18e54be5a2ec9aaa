"""`flask jobs worker`: run RQ jobs inside this process, each in a fresh application context.

`flask rq worker` (Flask-RQ 1.0) starts a new Python process (`flask rq work-horse`) for every
job, which isolates jobs well but costs about half a second each. For many small jobs (tickets,
e-mails) this worker runs them in one process with rq's SimpleWorker; each job still gets its
own app context, so its database session is removed when it ends. Both commands read the same
queues; run either, or both side by side.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from rq import SimpleWorker

from app.extensions import rq

jobs_cli = AppGroup("jobs", help="Run background jobs.")


class AppContextWorker(SimpleWorker):
    """A SimpleWorker that gives each job its own application context."""

    app = None

    def perform_job(self, job, queue):
        with self.app.app_context():
            return super().perform_job(job, queue)


def make_worker(queue_names: list[str] | None = None, **kwargs) -> AppContextWorker:
    """A worker for the named queues (all of RQ_QUEUES, in order, by default)."""
    names = list(queue_names or current_app.config["RQ_QUEUES"])
    queues = [rq.get_queue(name) for name in names]
    worker = AppContextWorker(
        queues, connection=queues[0].connection, job_class=queues[0].job_class, **kwargs
    )
    worker.app = current_app._get_current_object()
    return worker


@jobs_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--max-jobs", type=int, default=None, help="Stop after this many jobs.")
@click.option("--name", default=None, help="Worker name (unique per host).")
@click.option("--scheduler/--no-scheduler", default=True, help="Also run retries that wait.")
def worker_command(queues, burst, max_jobs, name, scheduler):
    """Work on QUEUES (default: mail, tickets, default) in this process."""
    worker = make_worker(list(queues) or None, name=name)
    worker.work(burst=burst, max_jobs=max_jobs, with_scheduler=scheduler)
