"""Opening a poll twice at once (the clock and a person, two staff, an app retrying) opens it once:
one answer 200, the others 409, one electorate, one audit entry, one batch of opening e-mails.
Real concurrent HTTP requests on PostgreSQL; the ``*_without_the_guard`` test replaces the
conditional UPDATE with a check-then-update and shows the same rush opening it several times."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import func, select, update

from app.api.services import create_token
from app.core.audit import AuditEntry
from app.core.jobs import Job
from app.extensions import db
from app.polls import setup
from app.polls.models import Elector, Poll
from tests.factories import make_poll, make_user
from tests.test_events_concurrency import all_at_once

pytestmark = pytest.mark.live

RUSH = 8


def _rush(app, live_server) -> tuple[list[int], dict]:
    with app.app_context():
        for _ in range(5):
            make_user()
        staff = make_user(roles=["membership"])
        _token, key = create_token(staff, "rush")
        poll = make_poll(status="draft", questions=(("Chair", "single", ("Ada", "Bo"), 1, 1),))
        db.session.commit()
        poll_id = poll.id
    url = f"{live_server}/api/v1/polls/{poll_id}/open"
    headers = {"Authorization": f"Token {key}"}
    responses = all_at_once([lambda: requests.post(url, headers=headers, timeout=60)] * RUSH)
    with app.app_context():
        db.session.remove()

        def count(stmt) -> int:
            return db.session.scalar(select(func.count()).select_from(stmt.subquery()))

        after = {
            "status": db.session.get(Poll, poll_id).status,
            "opened": count(
                select(AuditEntry.id).where(
                    AuditEntry.action == "poll.opened", AuditEntry.object_id == poll_id
                )
            ),
            "electors": count(select(Elector.id).where(Elector.poll_id == poll_id)),
            "mail_jobs": count(select(Job.id).where(Job.kind.like("%send_opening_mails"))),
        }
    return sorted(r.status_code for r in responses), after


def test_opening_at_once_opens_once(app, live_server, postgres):
    statuses, after = _rush(app, live_server)
    assert statuses == [200] + [409] * (RUSH - 1)
    assert after == {"status": "open", "opened": 1, "electors": 6, "mail_jobs": 1}


def test_opening_at_once_without_the_guard_opens_more_than_once(
    app, live_server, postgres, monkeypatch
):
    def check_then_update(poll, from_states, **values):
        current = db.session.scalar(select(Poll.status).where(Poll.id == poll.id))
        time.sleep(0.3)  # the window between the check and the write, made wide
        if current not in from_states:
            return False
        db.session.execute(
            update(Poll)
            .where(Poll.id == poll.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(poll)
        return True

    monkeypatch.setattr(setup, "_move", check_then_update)
    statuses, after = _rush(app, live_server)
    assert statuses != [200] + [409] * (RUSH - 1) or after["opened"] > 1
    assert statuses.count(200) > 1 or 500 in statuses
