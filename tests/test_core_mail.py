"""The outbox: every message recorded, sent once, failures kept and retried."""

from sqlalchemy import select, update

from app.core.jobs import Job, commit
from app.core.mail import OutboxMessage, queue_mail, send_outbox_message
from app.core.relay import relay_once
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import body_text


def test_mail_goes_out_in_the_recipients_language(ctx, mailbox, run_jobs):
    queue_mail("anna@example.is", "verify_email", "is", {"name": "Anna", "link": "http://x/v"})
    queue_mail("bo@example.dk", "verify_email", "da", {"name": "Bo", "link": "http://x/v"})
    commit()
    run_jobs()
    [icelandic] = mailbox.to("anna@example.is")
    [danish] = mailbox.to("bo@example.dk")
    english = "Thank you for signing up"
    assert english not in body_text(icelandic) and english not in body_text(danish)
    assert icelandic["Subject"] != danish["Subject"]
    assert icelandic.is_multipart()  # plain text and HTML


def test_a_message_is_sent_once_even_if_the_job_runs_twice(ctx, mailbox, run_jobs):
    message = queue_mail("once@example.org", "verify_email", "en", {"name": "O", "link": "l"})
    commit()
    run_jobs()
    assert send_outbox_message(message.id) == "skipped"
    assert len(mailbox.to("once@example.org")) == 1
    assert db.session.get(OutboxMessage, message.id).state == "sent"


def test_the_same_key_is_queued_once(ctx):
    first = queue_mail("k@example.org", "verify_email", "en", {"name": "K", "link": "l"}, key="k1")
    second = queue_mail("k@example.org", "verify_email", "en", {"name": "K", "link": "l"}, key="k1")
    assert first.id == second.id


def test_a_failed_send_is_recorded_and_retried_once_smtp_answers(
    ctx, app, run_jobs, monkeypatch, mailbox
):
    from flask_mail import Connection

    def broken(connection, message):
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "send", broken)
        message = queue_mail("fail@example.org", "verify_email", "en", {"name": "F", "link": "l"})
        commit()
        run_jobs(raise_failures=False)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "smtp down" in row.error
    [job] = db.session.scalars(select(Job)).all()
    assert job.state == "failed" and job.run_at > utcnow()  # waits for its back-off

    db.session.execute(update(Job).values(run_at=utcnow()))
    db.session.commit()
    assert relay_once() == 1
    run_jobs()
    assert len(mailbox.to("fail@example.org")) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).state == "sent"


def test_bulk_mail_carries_unsubscribe_headers(ctx, mailbox, run_jobs):
    user = make_user("bulk@example.org")
    queue_mail("n@example.org", "verify_email", "en", {"name": "N", "link": "l"}, user_id=None)
    queue_mail(
        "bulk@example.org",
        "verify_email",
        "en",
        {"name": "B", "link": "l"},
        user_id=user.id,
        bulk=True,
    )
    commit()
    run_jobs()
    [bulk] = mailbox.to("bulk@example.org")
    assert bulk["List-Unsubscribe"].strip().startswith("<http")
    assert bulk["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mailbox.to("n@example.org")[0]["List-Unsubscribe"] is None


def test_development_default_writes_eml_files(ctx, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    message = queue_mail("dev@example.org", "verify_email", "da", {"name": "D", "link": "l"})
    commit()
    send_outbox_message(message.id)
    [eml] = list(tmp_path.glob("*.eml"))
    assert b"dev@example.org" in eml.read_bytes()


def test_an_e_mail_is_written_with_one_statement(app, ctx):
    """One INSERT ... ON CONFLICT DO NOTHING; a key written before costs a read as well, and
    gives that row back."""
    from sqlalchemy import func

    from tests.helpers import StatementCounter

    def write(name):
        return queue_mail(
            "c@example.org",
            "verify_email",
            "en",
            {"name": name, "link": "l"},
            key="counted",
            send=False,
        )

    with StatementCounter(app) as counter:
        first = write("First")
    [insert] = [s for s in counter.statements if not counter.BOOKKEEPING.search(s)]
    assert insert.lstrip().startswith("INSERT INTO outbox_messages")
    assert (first.state, first.attempts, first.context["name"]) == ("queued", 0, "First")
    with StatementCounter(app) as counter:
        again = write("Again")
    assert counter.count == 2 and again is first
    commit()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(OutboxMessage.key == "counted")) == 1
    assert db.session.get(OutboxMessage, first.id).context["name"] == "First"


def test_e_mails_are_written_out_as_compat32_writes_them(ctx):
    """The output policy's shortcut for plain headers changes no byte of a message."""
    import email.policy

    from app.core.mail_message import OUTPUT_POLICY, _Message

    reference = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)
    message = _Message(
        subject="Din billet: Sommerfest på Nørrebro =?utf-8?q?not-a-word?=",
        recipients=["Åse Ø <aase@example.org>", "plain@example.org"],
        body="Hej\n\nhttp://example.org/t/1.a.b\n",
        html="<p>Hej</p>",
        extra_headers={
            "List-Unsubscribe": "<http://example.org/unsubscribe/" + "x" * 120 + ">",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Spaces": "two  spaces and\ta tab ",
        },
    )
    message.attach("ticket-qr.png", "image/png", b"\x89PNG" * 50, "inline", {"Content-ID": "<qr>"})
    message.attach("event.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    mime = message._message()
    assert mime.policy is OUTPUT_POLICY
    # The boundaries are made with the message (8bit text and base64 hold no run of "="): the
    # generator does not compile and run its check for each multipart.
    assert all(p.get_boundary() for p in mime.walk() if p.is_multipart())
    assert mime.as_bytes() == mime.as_bytes(policy=reference)


def test_a_text_that_could_hold_a_boundary_leaves_it_to_the_generators_check(ctx):
    from app.core.mail_message import _Message

    message = _Message(
        subject="Boundaries",
        recipients=["plain@example.org"],
        body="A line of them:\n" + "=" * 40 + "\n",
        html="<p>Hej</p>",
    )
    mime = message._message()
    multiparts = [p for p in mime.walk() if p.is_multipart()]
    assert multiparts and all(p.get_boundary() is None for p in multiparts)
    written = mime.as_bytes()  # the generator makes them, each nowhere in the text
    assert all(p.get_boundary().encode() in written for p in multiparts)
    assert written.count(b"=" * 40) == 1
