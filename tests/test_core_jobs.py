"""Jobs: enqueued only after commit, run by a real worker on Redis, failures visible to admins."""

from app.core import jobs
from app.extensions import db, rq
from tests.factories import make_user
from tests.helpers import csrf_from, login


def failing_job(message: str) -> None:
    raise RuntimeError(message)


def counting_job(key: str) -> str:
    rq.get_queue("default").connection.incr(key)
    return "done"


def test_job_is_enqueued_only_after_commit(ctx):
    queue = rq.get_queue("default")
    jobs.enqueue_after_commit(counting_job, "k")
    db.session.flush()
    assert queue.count == 0
    jobs.commit()
    assert queue.count == 1


def test_rolled_back_request_enqueues_nothing(ctx):
    queue = rq.get_queue("default")
    jobs.enqueue_after_commit(counting_job, "k")
    db.session.rollback()
    db.session.commit()
    jobs.dispatch()
    assert queue.count == 0


def test_real_worker_runs_the_job(ctx, run_jobs):
    jobs.enqueue_after_commit(counting_job, "counter")
    jobs.commit()
    assert run_jobs() == 1
    assert int(rq.get_queue("default").connection.get("counter")) == 1


def test_failed_job_is_listed_and_can_be_retried_and_deleted(app, client, ctx, run_jobs):
    make_user("admin@example.org", roles=["admin"])
    db.session.commit()
    jobs.enqueue_after_commit(failing_job, "boom-for-the-test")
    jobs.commit()
    run_jobs(raise_failures=False)
    [failed] = jobs.failed_jobs()
    assert failed["func"].endswith("failing_job")
    assert "boom-for-the-test" in failed["error"]

    login(client, "admin@example.org")
    page = client.get("/staff/jobs/").get_data(as_text=True)
    assert "failing_job" in page and "boom-for-the-test" in page
    token = csrf_from(page)
    client.post(f"/staff/jobs/{failed['id']}/retry", data={"csrf_token": token})
    assert rq.get_queue("default").count == 1
    run_jobs(raise_failures=False)
    assert len(jobs.failed_jobs()) == 1
    client.post(f"/staff/jobs/{failed['id']}/delete", data={"csrf_token": token})
    assert jobs.failed_jobs() == []
    assert "No failed jobs" in client.get("/staff/jobs/").get_data(as_text=True)
