"""Jobs: a row in the request's transaction, handed to a real RQ worker after commit and by the
relay; retried with back-off, dead after the last attempt, visible and retryable by admins."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.core import jobs, periodic, relay
from app.core.jobs import Job
from app.core.timeutil import utcnow
from app.extensions import db, rq
from tests.factories import make_user
from tests.helpers import csrf_from, login


def failing_job(message: str) -> None:
    raise RuntimeError(message)


def counting_job(key: str) -> str:
    rq.get_queue("default").connection.incr(key)
    return "done"


def _count(key: str) -> int:
    return int(rq.get_queue("default").connection.get(key) or 0)


def _job_rows() -> list[Job]:
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def test_job_is_written_in_the_transaction_and_handed_over_only_after_commit(ctx):
    queue = rq.get_queue("default")
    jobs.enqueue_after_commit(counting_job, "k")
    db.session.flush()
    assert queue.count == 0
    assert [j.state for j in _job_rows()] == ["pending"]
    jobs.commit()
    assert queue.count == 1


def test_rolled_back_request_leaves_no_row_and_hands_over_nothing(ctx):
    queue = rq.get_queue("default")
    jobs.enqueue_after_commit(counting_job, "k")
    db.session.rollback()
    db.session.commit()
    jobs.dispatch()
    assert queue.count == 0
    assert _job_rows() == []


def test_savepoint_rollback_drops_only_the_work_asked_for_inside_it(ctx):
    jobs.enqueue_after_commit(counting_job, "outside")
    db.session.flush()
    savepoint = db.session.begin_nested()
    jobs.enqueue_after_commit(counting_job, "inside")
    db.session.flush()
    savepoint.rollback()
    jobs.commit()
    [row] = _job_rows()
    assert row.args == ["outside"]
    assert _handed("default") == [row.id]


def test_a_savepoint_inside_a_rolled_back_one_hands_over_nothing(ctx):
    outer = db.session.begin_nested()
    inner = db.session.begin_nested()
    jobs.enqueue_after_commit(counting_job, "deep")
    inner.commit()
    outer.rollback()
    kept = db.session.begin_nested()
    jobs.enqueue_after_commit(counting_job, "kept")
    kept.commit()
    jobs.commit()
    [row] = _job_rows()
    assert row.args == ["kept"]
    assert _handed("default") == [row.id]


def test_a_keyed_job_is_written_once_without_a_savepoint(app, ctx):
    from tests.helpers import StatementCounter

    with StatementCounter(app) as counter:
        first = jobs.enqueue_after_commit(counting_job, "once", key="only-one")
        again = jobs.enqueue_after_commit(counting_job, "twice", key="only-one")
    assert first is not None and again is None
    assert counter.count == 2  # the two INSERTs, and no savepoint of their own
    jobs.commit()
    assert [j.args for j in _job_rows()] == [["once"]]
    assert _handed("default") == [first]


def _handed(queue: str) -> list[int]:
    """The job rows handed to RQ, in the order of its batches."""
    return [job_id for job in rq.get_queue(queue).jobs for job_id in job.args[0]]


def test_the_jobs_of_one_commit_reach_redis_in_one_round_trip(ctx, monkeypatch):
    from redis.client import Pipeline

    sent = []
    real = Pipeline.execute
    monkeypatch.setattr(
        Pipeline, "execute", lambda self, *a, **k: sent.append(1) or real(self, *a, **k)
    )
    for name, queue in (("one", "default"), ("two", "default"), ("three", "mail")):
        jobs.enqueue_after_commit(counting_job, name, queue=queue)
    jobs.commit()
    assert len(sent) == 1
    # One RQ job per queue, holding that queue's rows.
    assert [len(job.args[0]) for job in rq.get_queue("default").jobs] == [2]
    assert [len(job.args[0]) for job in rq.get_queue("mail").jobs] == [1]


def test_real_worker_runs_the_job_once_and_marks_it_done(ctx, run_jobs):
    jobs.enqueue_after_commit(counting_job, "counter")
    jobs.commit()
    [row] = _job_rows()
    # A second hand-over of the same row (the relay and the fast path both) runs it once.
    jobs.hand_to_rq(row.id, "default")
    run_jobs()
    assert _count("counter") == 1
    db.session.expire_all()
    assert [(j.state, j.attempts) for j in _job_rows()] == [("done", 1)]


def test_relay_hands_over_a_job_the_fast_path_could_not(ctx, run_jobs):
    jobs.enqueue_after_commit(counting_job, "relayed")
    db.session.commit()  # committed, but dispatch() never ran: as if Redis refused
    db.session.info.pop("ready_jobs", None)
    assert relay.relay_once() == 0  # not due yet: the fast path gets a grace time
    db.session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert relay.relay_once() == 1
    assert relay.relay_once() == 0  # handed rows get a lease
    run_jobs()
    assert _count("relayed") == 1


def test_failing_job_is_retried_with_backoff_then_dead(ctx, run_jobs, app):
    jobs.enqueue_after_commit(failing_job, "boom", max_attempts=3)
    jobs.commit()
    before = utcnow()
    run_jobs(raise_failures=False)
    after = utcnow()
    [row] = _job_rows()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "boom" in row.last_error
    # It failed between `before` and `after`: the back-off is 0.75-1.25 times the base.
    backoff = timedelta(seconds=app.config["JOBS_BACKOFF_SECONDS"])
    assert before + backoff * 0.75 <= row.run_at <= after + backoff * 1.25
    assert relay.relay_once() == 0  # waiting for its back-off
    for attempt in (2, 3):
        db.session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert relay.relay_once() == 1
        run_jobs(raise_failures=False)
        db.session.expire_all()
        assert _job_rows()[0].attempts == attempt
    [row] = _job_rows()
    assert row.state == "dead" and row.finished_at is not None
    db.session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert relay.relay_once() == 0  # dead work waits for an admin


def test_job_of_a_worker_that_died_is_run_again_after_the_stale_time(ctx, run_jobs, app):
    jobs.enqueue_after_commit(counting_job, "revived")
    db.session.commit()
    db.session.info.pop("ready_jobs", None)
    [row] = _job_rows()
    assert jobs._claim(row.id) is not None  # claimed by a worker that is then killed
    assert relay.relay_once() == 0
    stale = utcnow() - timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)
    db.session.execute(update(Job).values(claimed_at=stale))
    db.session.commit()
    assert relay.relay_once() == 1
    run_jobs()
    assert _count("revived") == 1
    db.session.expire_all()
    assert [(j.state, j.attempts) for j in _job_rows()] == [("done", 2)]


def sleeping_job(seconds: float) -> str:
    import time

    time.sleep(seconds)
    return "woke"


def _rq_batches(queue: str) -> list[list[int]]:
    """The job ids each RQ job waiting in `queue` will run."""
    return [job.args[0] for job in rq.get_queue(queue).get_jobs()]


def test_rows_committed_together_go_to_rq_in_batches_and_each_runs_once(ctx, run_jobs, app):
    app.config["JOBS_BATCH_SIZE"], size = 2, app.config["JOBS_BATCH_SIZE"]
    try:
        for n in range(5):
            jobs.enqueue_after_commit(counting_job, f"batched-{n}")
        jobs.enqueue_after_commit(counting_job, "mailed", queue="mail")
        jobs.commit()
        ids = [row.id for row in _job_rows()]
        # One RQ job per queue and per JOBS_BATCH_SIZE rows, in the order they were written.
        assert _rq_batches("default") == [ids[0:2], ids[2:4], ids[4:5]]
        assert _rq_batches("mail") == [ids[5:6]]
        jobs.hand_to_rq(ids[0:2], "default")  # a second hand-over of a batch runs nothing twice
        run_jobs()
    finally:
        app.config["JOBS_BATCH_SIZE"] = size
    assert [_count(f"batched-{n}") for n in range(5)] + [_count("mailed")] == [1] * 6
    db.session.expire_all()
    assert {(j.state, j.attempts) for j in _job_rows()} == {("done", 1)}


def test_relay_hands_due_rows_over_in_batches(ctx, run_jobs, monkeypatch, app):
    monkeypatch.setitem(app.config, "JOBS_BATCH_SIZE", 2)
    for n in range(3):
        jobs.enqueue_after_commit(counting_job, f"relayed-{n}")
    db.session.commit()  # no hand-over: as if Redis refused
    db.session.info.pop("ready_jobs", None)
    db.session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert relay.relay_once() == 3  # rows, not RQ jobs
    assert [len(batch) for batch in _rq_batches("default")] == [2, 1]
    run_jobs()
    assert [_count(f"relayed-{n}") for n in range(3)] == [1, 1, 1]


def test_a_failing_row_fails_alone_and_the_rest_of_its_batch_runs(ctx, run_jobs, app):
    jobs.enqueue_after_commit(counting_job, "before")
    jobs.enqueue_after_commit(failing_job, "boom-in-a-batch")
    jobs.enqueue_after_commit(counting_job, "after")
    jobs.commit()
    assert len(_rq_batches("default")) == 1
    run_jobs(raise_failures=False)
    assert (_count("before"), _count("after")) == (1, 1)
    db.session.expire_all()
    rows = _job_rows()
    assert [(j.state, j.attempts) for j in rows] == [("done", 1), ("failed", 1), ("done", 1)]
    assert "boom-in-a-batch" in rows[1].last_error


def test_each_row_of_a_batch_has_its_own_time_limit(ctx, run_jobs, monkeypatch, app):
    """A row past JOBS_TIMEOUT_SECONDS is stopped and failed; the batch's next row gets its own
    limit (a batch never lets one row run on past the stale time, where it would be run twice)."""
    monkeypatch.setitem(app.config, "JOBS_TIMEOUT_SECONDS", 1)
    jobs.enqueue_after_commit(sleeping_job, 30)
    jobs.enqueue_after_commit(sleeping_job, 30)  # the batch's own limit (3 s) would let it run on
    jobs.enqueue_after_commit(counting_job, "next-row")
    jobs.commit()
    assert len(_rq_batches("default")) == 1
    run_jobs(raise_failures=False)
    assert _count("next-row") == 1
    db.session.expire_all()
    first, second, counter = _job_rows()
    assert (first.state, second.state, counter.state) == ("failed", "failed", "done")
    assert first.last_error.startswith("JobTimeoutException")
    assert second.last_error.startswith("JobTimeoutException")


def test_periodic_job_is_written_once_per_slot_across_workers(ctx, monkeypatch):
    # Only the probe: the domains' own periodic functions (poll clock, sweeps) stay out of it.
    monkeypatch.setattr(
        periodic, "PERIODIC", {"tests.test_core_jobs:periodic_probe": (60, periodic_probe)}
    )
    monkeypatch.setattr(periodic, "_slots_tried", {})
    assert periodic.schedule_periodic(now=6000.0) == 1
    assert periodic.schedule_periodic(now=6030.0) == 0  # same slot, same process
    periodic._slots_tried.clear()  # as another worker process would be
    assert periodic.schedule_periodic(now=6030.0) == 0  # same slot: the unique key refuses it
    assert periodic.schedule_periodic(now=6060.0) == 1
    assert len(_job_rows()) == 2


def periodic_probe() -> str:
    return "ok"


def test_admin_sees_dead_and_failed_jobs_and_retries_or_deletes_them(app, client, ctx, run_jobs):
    make_user("admin@example.org", roles=["admin"])
    db.session.commit()
    jobs.enqueue_after_commit(failing_job, "boom-for-the-test", max_attempts=1)
    jobs.commit()
    run_jobs(raise_failures=False)
    [row] = _job_rows()
    assert row.state == "dead"

    login(client, "admin@example.org")
    page = client.get("/staff/jobs/").get_data(as_text=True)
    assert "failing_job" in page and "boom-for-the-test" in page
    assert "Dead (gave up)" in page
    token = csrf_from(page)
    client.post(f"/staff/jobs/{row.id}/retry", data={"csrf_token": token})
    db.session.expire_all()
    assert _job_rows()[0].state == "pending"
    assert rq.get_queue("default").count == 1
    run_jobs(raise_failures=False)
    db.session.expire_all()
    assert _job_rows()[0].state == "dead"
    client.post(f"/staff/jobs/{row.id}/delete", data={"csrf_token": token})
    assert _job_rows() == []
    assert "No jobs in this list" in client.get("/staff/jobs/").get_data(as_text=True)


def test_health_reports_late_and_dead_jobs_as_degraded(client, ctx, app):
    jobs.enqueue_after_commit(counting_job, "late")
    db.session.commit()
    old = utcnow() - timedelta(seconds=app.config["JOBS_HEALTH_MAX_AGE"] + 60)
    db.session.execute(update(Job).values(created_at=old))
    db.session.commit()
    body = client.get("/health").get_json()
    assert body["status"] == "degraded" and body["checks"]["jobs"] == "degraded"
    assert body["jobs"]["oldest_pending_seconds"] >= app.config["JOBS_HEALTH_MAX_AGE"]


@pytest.mark.live  # its own SQLite app: the shared PostgreSQL session is not swapped in
def test_without_redis_the_web_process_relays_a_missed_job(tmp_path):
    """Development (no REDIS_URL): a job committed without its hand-over runs after a request."""
    from tests.helpers import sqlite_dev_app

    dev = sqlite_dev_app(tmp_path, JOBS_INLINE_RELAY_SECONDS=0, JOBS_LEASE_SECONDS=0)
    assert dev.config["JOBS_INLINE"]
    with dev.app_context():
        from app.core.mail import queue_mail

        first = queue_mail("dev@example.org", "verify_email", "da", {"name": "D", "link": "l"})
        # SQLite writes a keyed e-mail once too (INSERT ... ON CONFLICT DO NOTHING).
        again = queue_mail("dev@example.org", "verify_email", "da", {"name": "D"}, key=first.key)
        assert again.id == first.id
        db.session.commit()  # no dispatch: as a command that forgot it
        db.session.info.pop("ready_jobs", None)
        db.session.remove()
    assert dev.test_client().get("/health").status_code == 200
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    with dev.app_context():
        states = dict(db.session.execute(select(Job.kind, Job.state)).all())
        assert states["app.core.mail:send_outbox_message"] == "done"
        assert set(states.values()) == {"done"}  # the periodic jobs ran in-process too
        db.session.remove()
