"""Tickets: the ticket job made and mailed once, retried when sending fails, its statements
and commits counted; the tickets pages; the jobs worker command."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.timeutil import utcnow
from app.events import registrations
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import decode_qr, login, subject


def test_ticket_job_makes_and_mails_once_even_when_run_twice(ctx, mailbox, run_jobs):
    from app.events.tasks import make_ticket

    event = make_event(capacity=5)
    registration = registrations.register(event.id, make_user(email="twice@example.org"), True)
    db.session.commit()
    assert make_ticket(registration.id) == "sent"
    key = registration.ticket_qr_key
    assert make_ticket(registration.id) == "skipped"  # the e-mail of this code went already
    db.session.refresh(registration)
    assert registration.ticket_qr_key == key
    run_jobs()
    assert len(mailbox.to("twice@example.org")) == 1
    assert (
        db.session.scalar(
            db.select(db.func.count(OutboxMessage.id)).where(OutboxMessage.key.like("ticket:%"))
        )
        == 1
    )


def test_failed_ticket_send_is_retried_and_visible_to_admins(
    app, ctx, mailbox, run_jobs, monkeypatch
):
    from flask_mail import Connection

    from app.core.jobs import Job
    from app.core.relay import relay_once

    event = make_event(capacity=5)
    registrations.register(event.id, make_user(email="retry@example.org"), True)
    commit()  # commits, then enqueues the ticket job

    def broken(connection, message):
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "send", broken)
        run_jobs(["tickets"], raise_failures=False)  # the ticket job sends its own e-mail
    db.session.expire_all()
    message = db.session.scalar(db.select(OutboxMessage).filter_by(to_address="retry@example.org"))
    assert message.state == "failed" and "smtp down" in message.error
    [ticket_job] = db.session.scalars(db.select(Job)).all()
    assert ticket_job.kind == "app.events.tasks:make_ticket"
    assert ticket_job.state == "failed" and ticket_job.run_at > utcnow()  # after a back-off
    admin = make_user(roles=["admin"])
    db.session.commit()
    client = app.test_client()
    login(client, admin.email)
    jobs_page = client.get("/staff/jobs/").get_data(as_text=True)
    assert f"ticket #{message.id}" in jobs_page and "smtp down" in jobs_page

    # The retry sends the stored e-mail once; the QR image made the first time is kept.
    qr_key = db.session.scalar(db.select(Registration.ticket_qr_key))
    db.session.execute(db.update(Job).values(run_at=utcnow()))
    db.session.commit()
    assert relay_once() == 1
    run_jobs(["tickets"])
    assert len(mailbox.to("retry@example.org")) == 1
    assert db.session.scalar(db.select(Registration.ticket_qr_key)) == qr_key


def test_tickets_pages_for_owner_staff_and_nobody_else(app, ctx):
    event = make_event("Sumarhátíð", capacity=5)
    owner = make_user()
    registration = make_registration(event, owner)
    stranger, door = make_user(), make_user(roles=["door"])
    db.session.commit()
    code = registration.ticket_code

    anonymous = app.test_client()
    assert anonymous.get(f"/tickets/{code}").status_code == 302  # to the login page
    assert anonymous.get(f"/t/{code}").headers["Location"].endswith(f"/tickets/{code}")

    mine = app.test_client()
    login(mine, owner.email)
    listing = mine.get("/tickets/").get_data(as_text=True)
    assert "Sumarhátíð" in listing
    page = mine.get(f"/tickets/{code}")
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    png = mine.get(f"/tickets/{code}.png", follow_redirects=True)
    assert png.status_code == 200
    assert decode_qr(png.data).endswith(f"/t/{code}")

    other = app.test_client()
    login(other, stranger.email)
    assert other.get(f"/tickets/{code}").status_code == 404
    assert other.get(f"/tickets/{code}.png").status_code == 404

    staff = app.test_client()
    login(staff, door.email)
    assert staff.get(f"/tickets/{code}").status_code == 200


def test_jobs_worker_command_makes_and_mails_tickets_in_process(app, ctx, mailbox):
    """`flask jobs worker --burst` runs the ticket job and its mail job without a fork per job."""
    event = make_event("Bókmenntakvöld", capacity=5)
    registrations.register(event.id, make_user(email="cli@example.org"), True)
    commit()
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    [message] = mailbox.to("cli@example.org")
    assert "Bókmenntakvöld" in subject(message)


def _ticket_job(registration_email: str):
    from app.core.jobs import Job

    event = make_event(capacity=5)
    registrations.register(event.id, make_user(email=registration_email), True)
    db.session.commit()  # the job row, not handed to RQ: run below by hand
    return db.session.scalar(db.select(Job.id).where(Job.kind == "app.events.tasks:make_ticket"))


# A ticket job's statements, by their first three words: the claim, the registration, its
# ticket, the e-mail written claimed, the job done, the e-mail sent.
_A_TICKET_JOB = [
    "UPDATE jobs SET",
    "SELECT registrations.id AS",
    "UPDATE registrations SET",
    "INSERT INTO outbox_messages",
    "UPDATE jobs SET",
    "UPDATE outbox_messages SET",
]


def _kinds(counter) -> list[str]:
    own = [s for s in counter.statements if not counter.BOOKKEEPING.search(s)]
    return [" ".join(s.split()[:3]) for s in own]


@contextmanager
def _counted(app):
    """The statements run and the commits made inside the block."""
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    from tests.helpers import StatementCounter

    commits = []

    def count_commit(session):
        commits.append(session)

    sa_event.listen(Session, "after_commit", count_commit)
    try:
        with StatementCounter(app) as counter:
            yield counter, commits
    finally:
        sa_event.remove(Session, "after_commit", count_commit)


def test_a_ticket_job_is_six_statements_in_three_commits(app, ctx, mailbox):
    """The job's claim; the registration read, its QR key and the outbox row written already
    claimed for sending; then the e-mail's `sent` mark with the job's `done`."""

    from app.core.jobs import Job, run_job

    job_id = _ticket_job("counted@example.org")
    with _counted(app) as (counter, commits):
        assert run_job(job_id) == "sent"
    # Left out: the test's savepoints (its commits) and the e-mail layout's cached row.
    assert _kinds(counter) == _A_TICKET_JOB, counter.statements
    assert len(commits) == 3
    db.session.expire_all()
    assert db.session.get(Job, job_id).state == "done"
    message = db.session.scalar(db.select(OutboxMessage))
    assert (message.state, message.attempts, message.subject) == (
        "sent",
        1,
        subject(mailbox.to("counted@example.org")[0]),
    )
    assert len(mailbox.to("counted@example.org")) == 1


def test_a_batch_of_ticket_jobs_is_six_statements_in_three_commits_a_ticket(app, ctx, mailbox):
    """Ticket jobs handed to RQ together run as one RQ job: each row as alone (its own claim,
    application context and commits), nothing more for the batch."""

    from app.core.jobs import Job, hand_to_rq, run_batch
    from app.extensions import rq

    event = make_event(capacity=5)
    for n in range(3):
        registrations.register(event.id, make_user(email=f"batch{n}@example.org"), True)
    commit()  # three rows in one commit: one RQ job for the three
    [batch] = [job.args[0] for job in rq.get_queue("tickets").get_jobs()]
    rows = db.session.scalars(db.select(Job.id).where(Job.kind.endswith(":make_ticket"))).all()
    assert batch == sorted(rows) and rq.get_queue("tickets").count == 1
    rq.get_queue("tickets").empty()
    with _counted(app) as (counter, commits):
        assert run_batch(batch) == "sent 3"
    assert _kinds(counter) == 3 * _A_TICKET_JOB, counter.statements
    assert len(commits) == 9
    assert sorted(m["To"] for m in mailbox.messages) == [f"batch{n}@example.org" for n in range(3)]
    hand_to_rq(batch, "tickets")  # handed again (the relay and the fast path both): no e-mail
    from tests.helpers import run_jobs

    run_jobs(app)
    assert len(mailbox.messages) == 3


def test_a_ticket_whose_worker_died_after_writing_its_e_mail_is_mailed_once(
    app, ctx, mailbox, monkeypatch
):
    """The outbox row is committed already claimed (`sending`) before the send: a worker that
    dies right then leaves it to a rerun of the job after the stale time, which sends it once."""

    from app.core.jobs import Job, run_job
    from app.core.mail import MessageBusy
    from app.events import tasks

    job_id = _ticket_job("died@example.org")
    with monkeypatch.context() as patch:
        patch.setattr(tasks, "send_claimed", lambda message, files: "the worker died here")
        tasks.make_ticket(db.session.get(Job, job_id).args[0])
    message = db.session.scalar(db.select(OutboxMessage))
    assert (message.state, message.attempts) == ("sending", 1) and not mailbox.messages

    registration_id = db.session.get(Job, job_id).args[0]
    with pytest.raises(MessageBusy):  # not stale yet: another worker may still be sending it
        tasks.make_ticket(registration_id)
    stale = utcnow() - timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)
    db.session.execute(db.update(OutboxMessage).values(claimed_at=stale))
    db.session.execute(db.update(Job).values(state="running", claimed_at=stale))
    db.session.commit()
    assert run_job(job_id) == "sent"
    assert run_job(job_id) == "skipped"  # done
    assert tasks.make_ticket(registration_id) == "skipped"  # sent already
    assert len(mailbox.to("died@example.org")) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).attempts == 2
