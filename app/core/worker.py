"""`flask jobs worker` (RQ worker + relay + scheduler) and `flask jobs relay` (the relay alone).

The worker runs RQ jobs in this process with rq's SimpleWorker, each in a fresh application
context (so its database session ends with it): Flask-RQ's `flask rq worker` forks a new Python
process per job, which costs about half a second each and is not used here. Beside it, a thread
runs the relay (app/core/relay.py), which hands due job rows to RQ, and the scheduler, which
writes the periodic jobs (app/core/periodic.py). Without Redis (development) the relay runs the
jobs itself.
"""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from rq import SimpleWorker

from app.core import jobs, periodic, relay
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


def start_relay(interval: float | None = None) -> tuple[threading.Thread, threading.Event]:
    """Start the relay and scheduler in a daemon thread; set the event to stop it."""
    stop = threading.Event()
    app = current_app._get_current_object()
    thread = threading.Thread(
        target=relay.relay_forever, args=(app, stop, interval), name="felag-relay", daemon=True
    )
    thread.start()
    return thread, stop


@jobs_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--max-jobs", type=int, default=None, help="Stop after this many jobs.")
@click.option("--name", default=None, help="Worker name (unique per host).")
@click.option(
    "--relay/--no-relay",
    "with_relay",
    default=True,
    help="Also relay due jobs and run the scheduler.",
)
def worker_command(queues, burst, max_jobs, name, with_relay):
    """Work on QUEUES (default: mail, tickets, default) in this process, with the relay."""
    if jobs.inline():
        click.echo("No REDIS_URL: the relay runs the jobs in this process.")
        _relay_until_signal()
        return
    thread = stop = None
    if with_relay:
        if burst:
            relay.relay_once()
        else:
            thread, stop = start_relay()
    worker = make_worker(list(queues) or None, name=name)
    try:
        worker.work(burst=burst, max_jobs=max_jobs, with_scheduler=False)
    finally:
        if stop is not None:
            stop.set()
            thread.join(timeout=10)


@jobs_cli.command("relay")
@click.option("--once", is_flag=True, help="Hand over what is due now, then stop.")
def relay_command(once):
    """Hand due jobs to RQ and write periodic jobs (without running an RQ worker)."""
    if once:
        periodic.schedule_periodic()
        click.echo(f"{relay.relay_once()} jobs handed over.")
        return
    _relay_until_signal()


def _relay_until_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.set())
    relay.relay_forever(current_app._get_current_object(), stop)
