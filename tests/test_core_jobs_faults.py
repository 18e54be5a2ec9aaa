"""Fault tests on real services: SMTP down, a worker that dies mid-batch or is killed. Accepted
work is neither lost nor done twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.auth.models import User
from app.core import jobs, relay
from app.core.jobs import Job
from app.core.mail import OutboxMessage, queue_mail
from app.core.timeutil import utcnow
from app.events import registrations
from app.extensions import db, rq
from tests.factories import make_event, make_user

ROOT = Path(__file__).resolve().parent.parent
MAIL_JOB = "app.core.mail:send_outbox_message"


def test_mail_is_retried_while_smtp_is_down_and_each_arrives_once(
    app, ctx, services, mailbox, run_jobs
):
    from aiosmtpd.controller import Controller

    services["smtp"].stop()
    try:
        for n in range(3):
            queue_mail(f"r{n}@example.org", "verify_email", "en", {"name": "R", "link": "l"})
        jobs.commit()
        run_jobs(raise_failures=False)
        db.session.expire_all()
        assert {m.state for m in db.session.scalars(select(OutboxMessage))} == {"failed"}
        assert {j.state for j in db.session.scalars(select(Job))} == {"failed"}
        # Still down at the first retry.
        db.session.execute(update(Job).values(run_at=utcnow()))
        db.session.commit()
        assert relay.relay_once() == 3
        run_jobs(raise_failures=False)
        db.session.expire_all()
        assert {j.attempts for j in db.session.scalars(select(Job))} == {2}
        assert mailbox.messages == []
    finally:
        services["smtp"] = Controller(mailbox, hostname="127.0.0.1", port=services["smtp_port"])
        services["smtp"].start()

    db.session.execute(update(Job).values(run_at=utcnow()))
    db.session.commit()
    assert relay.relay_once() == 3
    run_jobs()
    assert sorted(m["To"] for m in mailbox.messages) == [f"r{n}@example.org" for n in range(3)]
    assert relay.relay_once() == 0
    run_jobs()
    assert len(mailbox.messages) == 3


class WorkerDied(BaseException):
    """What the batch sees of a worker killed under it: nothing after this point runs."""


def test_a_worker_that_dies_mid_batch_leaves_no_ticket_unsent_and_none_sent_twice(
    app, ctx, mailbox, run_jobs, monkeypatch
):
    """Five tickets committed together are one RQ job. The worker dies at the third, its outbox
    row committed as `sending`: the first two are sent and done, the third is left running, the
    last two pending. The relay hands the rest on (after the lease, and the stale time for the
    third) and each person gets one ticket."""

    from app.events import tasks

    event = make_event(capacity=10)
    for n in range(5):
        registrations.register(event.id, make_user(f"batch{n}@example.org"), True)
    jobs.commit()
    [batch] = [job.args[0] for job in rq.get_queue("tickets").get_jobs()]
    assert len(batch) == 5
    rq.get_queue("tickets").empty()  # the dying worker took the batch out of Redis

    real_send = tasks.send_claimed
    sends = []

    def send_then_die(message, files):
        sends.append(message.to_address)
        if len(sends) == 3:
            raise WorkerDied
        return real_send(message, files)

    with monkeypatch.context() as patch:
        patch.setattr(tasks, "send_claimed", send_then_die)
        with pytest.raises(WorkerDied):
            jobs.run_batch(batch)
    db.session.expire_all()
    states = dict(db.session.execute(select(Job.id, Job.state).where(Job.id.in_(batch))).all())
    assert [states[job_id] for job_id in batch] == ["done", "done", "running", "pending", "pending"]
    assert sorted(m["To"] for m in mailbox.messages) == ["batch0@example.org", "batch1@example.org"]
    assert relay.relay_once() == 0  # the lease and the stale time have not passed

    # Time passes: the pending rows' lease and the running row's stale time.
    stale = utcnow() - timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)
    db.session.execute(update(Job).where(Job.state == "pending").values(run_at=utcnow()))
    db.session.execute(update(Job).where(Job.state == "running").values(claimed_at=stale))
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.state == "sending").values(claimed_at=stale)
    )
    db.session.commit()
    assert relay.relay_once() == 3
    run_jobs()
    assert sorted(m["To"] for m in mailbox.messages) == [f"batch{n}@example.org" for n in range(5)]
    db.session.expire_all()
    assert {j.state for j in db.session.scalars(select(Job).where(Job.id.in_(batch)))} == {"done"}
    assert relay.relay_once() == 0
    run_jobs()
    assert len(mailbox.messages) == 5


def _worker_env(services, tmp_path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FELAG_", "DATABASE_", "REDIS_", "MAIL_", "S3_", "JOBS_"))
    }
    env.update(
        FLASK_APP="wsgi",
        FELAG_ENV="development",
        SECRET_KEY="testing-secret-key",
        DATABASE_URL=services["database_url"],
        REDIS_URL=services["redis_url"],
        BASE_URL=f"http://127.0.0.1:{services['live_port']}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(services["smtp_port"]),
        S3_BUCKET="felag-test",
        S3_ENDPOINT_URL=services["s3_endpoint"],
        S3_ACCESS_KEY_ID="testing",
        S3_SECRET_ACCESS_KEY="testing",
        STORAGE_DIR=str(tmp_path / "storage"),
        INSTANCE_PATH=str(tmp_path / "instance"),
        JOBS_STALE_SECONDS="3",
        JOBS_LEASE_SECONDS="2",
        JOBS_TIMEOUT_SECONDS="2",
        JOBS_RELAY_INTERVAL="0.3",
        # 24 rows are relayed as RQ jobs of 10, 10 and 4: the kill lands in the first batch.
        JOBS_BATCH_SIZE="10",
    )
    return env


def _start_worker(env, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _open_jobs(app) -> int:
    with app.app_context():
        # The domains' periodic jobs (sweeps, the poll clock) come and go beside the batch.
        count = db.session.scalar(
            select(func.count()).where(
                Job.state != "done", Job.kind.in_(("app.events.tasks:make_ticket", MAIL_JOB))
            )
        )
        db.session.remove()
        return count


@pytest.mark.live
def test_worker_killed_mid_batch_every_ticket_is_mailed_exactly_once(
    app, services, mailbox, tmp_path
):
    if not services.get("redis_url"):
        pytest.skip("needs a Redis server for the worker process")
    people = 24
    with app.app_context():
        event = make_event(capacity=100)
        users = [
            User(
                email=f"rush{n}@example.org",
                name=f"Rush {n}",
                password_hash="not-used",
                locale="en",
                email_verified_at=utcnow(),
            )
            for n in range(people)
        ]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            registrations.register(event.id, user, True)
        db.session.commit()  # the jobs are written; no in-process fast path: the worker takes them
        db.session.info.pop("ready_jobs", None)
        db.session.execute(update(Job).values(run_at=utcnow()))
        db.session.commit()
        db.session.remove()

    mailbox.hold_after(people // 3)
    log_path = tmp_path / "worker.log"
    env = _worker_env(services, tmp_path)
    first = _start_worker(env, log_path)
    try:
        assert mailbox.holding.wait(90), log_path.read_text()[-3000:]
        first.send_signal(signal.SIGKILL)  # in the middle of the batch, one message in flight
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(mailbox.messages) == people // 3
    mailbox.release()

    second = _start_worker(env, log_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(mailbox.messages) >= people and _open_jobs(app) == 0:
                break
            time.sleep(0.3)
        time.sleep(4)  # longer than the stale time: a second copy would have come by now
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
    received = sorted(m["To"] for m in mailbox.messages)
    assert received == sorted(f"rush{n}@example.org" for n in range(people)), log_path.read_text()[
        -3000:
    ]
    assert _open_jobs(app) == 0
