"""Staff side of polls: set up, questions fixed once open, open/close/publish with audit, the
electorate's size, exports (no voter column for secret ballots), the clock and the e-mails."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.errors import Conflict
from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.timeutil import utcnow
from app.extensions import db
from app.polls import mails, setup, tasks
from app.polls.ballots import cast
from app.polls.models import Elector, Poll
from tests.factories import make_poll, make_user
from tests.helpers import body_text, csrf_from, login, post_form

RANKED = (("Board", "ranked", ("Hal", "Ivy", "Jon"), 1, 1),)


@pytest.fixture
def staff(app, ctx):
    user = make_user(email="sigga@example.org", roles=["membership"])
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    return client


def _actions(poll: Poll) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "poll", AuditEntry.object_id == poll.id)
            .order_by(AuditEntry.id)
        )
    )


def _post(client, url: str, poll_id: int):
    page = client.get(f"/staff/polls/{poll_id}/")
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_staff_set_up_open_close_publish_with_audit_and_fixed_options(staff, ctx, mailbox):
    voters = [make_user(locale=lang) for lang in ("da", "is", "en")]
    db.session.commit()
    # The electorate choices show how many each admits now (no active members yet).
    form = staff.get("/staff/polls/new").get_data(as_text=True)
    assert "Every verified user (4)" in form and "Active members (0)" in form
    response = post_form(
        staff,
        "/staff/polls/new",
        {
            "title": "Board election 2027",
            "description": "Choose the board",
            "electorate_kind": "users",
            "opens_at": "2031-06-05T18:00",
            "closes_at": "2031-06-06T18:00",
            "secret": "y",
            "results_mode": "after_close",
            "reminder_hours_before": "6",
        },
    )
    assert response.status_code == 302
    poll = db.session.scalar(select(Poll))
    assert poll.status == "draft" and poll.secret and poll.reminder_hours_before == 6
    # 18:00 in Copenhagen in June is 16:00 UTC.
    assert poll.opens_at.isoformat() == "2031-06-05T16:00:00+00:00"

    url = f"/staff/polls/{poll.id}/questions/new"
    data = {"text": "Chair", "kind": "single", "options": "Ada\nBo\n\nCy\n"}
    assert post_form(staff, url, data).status_code == 302
    bad = post_form(staff, url, {"text": "Only one", "kind": "single", "options": "Ada"})
    assert bad.status_code == 200 and "Give at least two options." in bad.get_data(as_text=True)
    db.session.refresh(poll)
    assert [o.text for o in poll.questions[0].options] == ["Ada", "Bo", "Cy"]
    question = poll.questions[0]
    edit = f"/staff/polls/{poll.id}/questions/{question.id}/edit"
    assert post_form(staff, edit, {**data, "options": "Ada\nBo\nCy\nDag"}).status_code == 302

    page = staff.get(f"/staff/polls/{poll.id}/").get_data(as_text=True)
    # Every verified user: the three voters and the staff member, before opening.
    assert 'data-electorate-size="4"' in page and "if voting opened now" in page

    assert _post(staff, f"/staff/polls/{poll.id}/open", poll.id).status_code == 302
    db.session.refresh(poll)
    assert poll.status == "open" and poll.opened_at is not None and poll.electorate_size == 4
    assert poll.opens_at <= utcnow()  # opened early by hand
    # Once open, options cannot change: the form answers with the reason, nothing changes.
    refused = post_form(staff, edit, {**data, "options": "X\nY"})
    assert "cannot change once the poll has opened" in refused.get_data(as_text=True)
    db.session.refresh(question)
    assert [o.text for o in question.options] == ["Ada", "Bo", "Cy", "Dag"]
    with pytest.raises(Conflict):
        setup.add_question(poll, setup.QuestionFields("More?", "yes_no"))

    cast(poll, voters[0], {str(question.id): [question.options[1].id]})
    db.session.commit()
    assert _post(staff, f"/staff/polls/{poll.id}/close", poll.id).status_code == 302
    assert _post(staff, f"/staff/polls/{poll.id}/publish", poll.id).status_code == 302
    db.session.refresh(poll)
    assert poll.status == "published" and poll.closed_at and poll.published_at
    assert _actions(poll) == [
        "poll.created",
        "poll.question_added",
        "poll.question_changed",
        "poll.opened",
        "poll.closed",
        "poll.published",
    ]
    results = staff.get(f"/staff/polls/{poll.id}/results").get_data(as_text=True)
    assert "1 of 4 voted" in results


def test_the_clock_opens_closes_and_reminds(ctx, app, run_jobs, mailbox):
    da, is_, voted = make_user(locale="da"), make_user(locale="is"), make_user(locale="en")
    poll = make_poll(status="draft", questions=RANKED, reminder_hours_before=2)
    poll.opens_at = utcnow() - timedelta(minutes=1)
    poll.closes_at = utcnow() + timedelta(hours=1)
    setup.schedule(poll)  # its time has passed: opens at once
    commit()  # as a route does: the opening e-mails' job is handed over after the commit
    assert poll.status == "open"
    run_jobs()
    opened = {m["To"]: m for m in mailbox.messages}
    assert set(opened) == {da.email, is_.email, voted.email}
    assert "Vote now" in opened[voted.email]["Subject"]
    assert f"/polls/{poll.id}" in body_text(opened[da.email])
    # Each in the recipient's own language (rendered in it when the job sends).
    locales = dict(
        db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.locale).where(
                OutboxMessage.template == "poll_opened"
            )
        ).all()
    )
    assert locales == {da.email: "da", is_.email: "is", voted.email: "en"}
    # Running the opening job again sends nothing new (each e-mail has a key per person).
    mailbox.clear()
    mails.send_opening_mails(poll.id)
    run_jobs()
    assert mailbox.messages == []

    question = poll.questions[0]
    cast(poll, voted, {str(question.id): [question.options[0].id]})
    db.session.commit()
    tasks.poll_clock()  # the reminder is due: closing is 1 hour away, reminder 2 hours before
    run_jobs()
    assert sorted(m["To"] for m in mailbox.messages) == sorted([da.email, is_.email])
    reminders = db.session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.template == "poll_reminder")
    ).all()
    assert sorted(reminders) == sorted([da.email, is_.email])
    mailbox.clear()
    tasks.poll_clock()  # once only
    run_jobs()
    assert mailbox.messages == []

    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.poll_clock()
    db.session.refresh(poll)
    assert poll.status == "closed" and poll.closed_at is not None
    assert "poll.closed" in _actions(poll)


def test_a_scheduled_poll_opens_by_the_clock_with_the_electorate_of_that_moment(ctx, run_jobs):
    early = make_user()
    poll = make_poll(status="draft", questions=RANKED)
    poll.opens_at = utcnow() + timedelta(hours=1)
    setup.schedule(poll)
    db.session.commit()
    assert poll.status == "scheduled"
    tasks.poll_clock()
    assert db.session.get(Poll, poll.id).status == "scheduled"  # not yet
    late = make_user()
    poll.opens_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.poll_clock()
    db.session.refresh(poll)
    assert poll.status == "open"
    electors = set(db.session.scalars(select(Elector.user_id).where(Elector.poll_id == poll.id)))
    assert {early.id, late.id} <= electors
    joined_after = make_user()
    db.session.commit()
    assert joined_after.id not in set(
        db.session.scalars(select(Elector.user_id).where(Elector.poll_id == poll.id))
    )
    # Opening again (a second clock, a person pressing the button) is refused, not done twice.
    with pytest.raises(Conflict):
        setup.open_poll(poll)
    assert "poll.opened" in _actions(poll) and _actions(poll).count("poll.opened") == 1


def test_exports_secret_ballots_have_no_voter_column(staff, ctx):
    alice, bob = make_user(name="Alice Voter"), make_user(name="Bob Voter")
    poll = make_poll(questions=RANKED, secret=True)
    q = poll.questions[0]
    ids = [o.id for o in q.options]
    cast(poll, alice, {str(q.id): [ids[2], ids[0]]})
    cast(poll, bob, {str(q.id): [ids[1]]})
    db.session.commit()
    # While voting runs, a secret poll's ballots are not exported (their order would tell).
    early = staff.get(f"/staff/polls/{poll.id}/ballots.csv")
    assert early.status_code in (302, 404)
    # Nor are its results: counts watched beside who has voted would tell each new vote.
    assert staff.get(f"/staff/polls/{poll.id}/results.csv").status_code == 404
    setup.close_poll(poll)
    db.session.commit()
    response = staff.get(f"/staff/polls/{poll.id}/ballots.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Ballot", "Question", "Answer (in order of preference when ranked)"]
    assert sorted(r[2] for r in rows[1:]) == ["Ivy", "Jon; Hal"]
    assert "Alice" not in text and "Bob" not in text and "@" not in text

    results = staff.get(f"/staff/polls/{poll.id}/results.csv").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(results.lstrip("\ufeff"))))
    assert ["Electorate", str(poll.electorate_size)] in table and ["Voted", "2"] in table
    assert ["Board", "Jon", "1", "50.0", ""] in table or [
        "Board",
        "Jon",
        "1",
        "50.0",
        "yes",
    ] in table


def test_exports_open_ballots_name_the_voter(staff, ctx):
    alice = make_user(name="Alice Voter", email="alice@example.org")
    poll = make_poll(questions=RANKED, secret=False)
    q = poll.questions[0]
    cast(poll, alice, {str(q.id): [q.options[1].id]})
    db.session.commit()
    text = staff.get(f"/staff/polls/{poll.id}/ballots.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Ballot", "Voter", "E-mail address"]
    assert rows[1][1:] == ["Alice Voter", "alice@example.org", "Board", "Ivy"]


def test_results_and_exports_are_hidden_before_opening(staff, ctx):
    poll = make_poll(status="draft", questions=RANKED)
    db.session.commit()
    assert staff.get(f"/staff/polls/{poll.id}/results.csv").status_code == 404
    assert staff.get(f"/staff/polls/{poll.id}/ballots.csv").status_code == 404
    assert "once voting has opened" in staff.get(f"/staff/polls/{poll.id}/results").get_data(
        as_text=True
    )


def test_settings_fixed_once_open_and_the_polls_link(staff, ctx):
    poll = make_poll(questions=RANKED, secret=True)
    db.session.commit()
    new_close = (utcnow() + timedelta(days=3)).astimezone(setup_tz()).strftime("%Y-%m-%dT%H:%M")
    response = post_form(
        staff,
        f"/staff/polls/{poll.id}/edit",
        {"title": "Renamed", "closes_at": new_close, "electorate_kind": "members"},
    )
    assert response.status_code == 302
    db.session.refresh(poll)
    # The title and closing time changed; the electorate and secrecy (not sent) stayed.
    assert poll.title == "Renamed" and poll.electorate_kind == "users" and poll.secret
    assert "Polls" in staff.get("/staff/").get_data(as_text=True)
    assert staff.get("/staff/polls/").status_code == 200


def setup_tz():
    from app.core.timeutil import organisation_tz

    return organisation_tz()


@pytest.mark.parametrize("language", ["da", "en", "is"])
def test_staff_pages_in_every_state_and_language(staff, ctx, language):
    staff.set_cookie("lang", language)
    voters = [make_user() for _ in range(4)]
    poll = make_poll(questions=(*RANKED, ("Accounts", "yes_no", (), 1, 1)), secret=True)
    q = poll.questions[0]
    ids = [o.id for o in q.options]
    for voter, ranking in zip(voters, ([0, 1], [1, 0], [2, 1], [0, 2]), strict=True):
        cast(poll, voter, {str(q.id): [ids[i] for i in ranking]})
    db.session.commit()
    base = f"/staff/polls/{poll.id}"
    for state in ("open", "closed", "published"):
        if state == "closed":
            setup.close_poll(poll)
        elif state == "published":
            setup.publish_results(poll)
        db.session.commit()
        detail = staff.get(f"{base}/")
        assert detail.status_code == 200 and f'data-poll-status="{state}"' in detail.get_data(
            as_text=True
        )
        if state == "open":  # the settings fixed once open are shown but disabled
            assert '<fieldset class="mb-3" disabled>' in staff.get(f"{base}/edit").get_data(
                as_text=True
            )
        page = staff.get(f"{base}/results").get_data(as_text=True)
        if state == "open":  # a secret poll with results after closing shows staff nothing yet
            assert page.count("<table") == 0 and "Hal" not in page
            continue
        # The ranked count's rounds (a table per question) and the yes/no labels are shown.
        assert page.count("<table") == 3 and "Hal" in page
    assert staff.get(f"{base}/edit").status_code == 302  # closed: nothing to edit
    assert staff.get("/staff/polls/").status_code == 200
    assert staff.get("/staff/polls/new").status_code == 200
    draft = make_poll(status="draft", questions=RANKED)
    db.session.commit()
    for url in ("/", "/edit", "/questions/new", f"/questions/{draft.questions[0].id}/edit"):
        assert staff.get(f"/staff/polls/{draft.id}{url}").status_code == 200, url


def test_the_poll_clock_is_registered_when_the_app_starts():
    """A fresh process that only builds the app (as `flask jobs worker` does) knows the clock."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from app import create_app; create_app(); from app.core.periodic import PERIODIC; "
        "print(PERIODIC['app.polls.tasks:poll_clock'][0])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FELAG_ENV")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "60"
