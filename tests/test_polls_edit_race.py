"""An edit of the options while the poll is being opened: the edit waits for the opening and is
then refused, so options never change on an open poll. Two real PostgreSQL connections, driven
step by step; the ``*_without_the_guard`` test reads the status without the row lock and shows the
options of an open poll changed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from app.core.errors import Conflict
from app.extensions import db
from app.polls import setup
from app.polls.models import Poll, PollOption, PollQuestion
from tests.factories import make_poll, make_user

pytestmark = pytest.mark.live


def _race(app) -> dict:
    with app.test_request_context():
        make_user()
        poll = make_poll(status="draft", questions=(("Chair", "single", ("Ada", "Bo"), 1, 1),))
        db.session.commit()
        poll_id, question_id = poll.id, poll.questions[0].id

    opened, may_commit, editor_pid = threading.Event(), threading.Event(), []
    seen: dict = {}

    def opening():
        with app.test_request_context():
            setup.open_poll(db.session.get(Poll, poll_id))
            opened.set()
            may_commit.wait(30)
            db.session.commit()
            db.session.remove()

    def editing():
        with app.test_request_context():
            editor_pid.append(db.session.scalar(text("SELECT pg_backend_pid()")))
            question = db.session.get(PollQuestion, question_id)
            question.poll.status  # noqa: B018  (loaded before the opening commits, as a form is)
            opened.wait(30)
            try:
                setup.update_question(
                    question, setup.QuestionFields("Chair", "single", options=["X", "Y", "Z"])
                )
                db.session.commit()
                seen["edit"] = "saved"
            except Conflict:
                db.session.rollback()
                seen["edit"] = "refused"
            db.session.remove()

    editor = threading.Thread(target=editing)
    editor.start()
    opener = threading.Thread(target=opening)
    opener.start()
    assert opened.wait(30)
    with app.app_context():
        waiting = False
        for _ in range(300):  # until the edit is blocked on a lock, or done
            db.session.remove()
            waiting = bool(editor_pid) and db.session.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": editor_pid[0]},
            )
            if waiting or not editor.is_alive():
                break
            threading.Event().wait(0.05)
        seen["edit_waited"] = bool(waiting) and editor.is_alive()
    may_commit.set()
    opener.join(30)
    editor.join(30)
    with app.app_context():
        db.session.remove()
        seen["status"] = db.session.get(Poll, poll_id).status
        seen["options"] = list(
            db.session.scalars(
                select(PollOption.text)
                .where(PollOption.question_id == question_id)
                .order_by(PollOption.position)
            )
        )
    return seen


def test_an_edit_during_the_opening_waits_and_is_refused(app, postgres):
    seen = _race(app)
    assert seen["edit_waited"] and seen["edit"] == "refused"
    assert seen["status"] == "open" and seen["options"] == ["Ada", "Bo"]


def test_without_the_guard_an_open_polls_options_change(app, postgres, monkeypatch):
    def unlocked(poll):
        if not poll.is_editable:  # the status as loaded, without the row lock
            raise Conflict("open")

    monkeypatch.setattr(setup, "_require_editable", unlocked)
    seen = _race(app)
    assert not seen["edit_waited"] and seen["edit"] == "saved"
    assert seen["status"] == "open" and seen["options"] == ["X", "Y", "Z"]
