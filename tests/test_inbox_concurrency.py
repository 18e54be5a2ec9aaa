"""The contact form clicked many times at once, through the live server on PostgreSQL: one
conversation and one confirmation e-mail, and no request ends in a server error (the form's
one-time key is a unique column; the insert runs in a savepoint that answers a duplicate)."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from app.core.mail import OutboxMessage
from app.extensions import db
from app.inbox.models import Conversation
from tests.helpers import csrf_from
from tests.inbox_helpers import TOKEN_RE
from tests.test_events_concurrency import all_at_once

pytestmark = pytest.mark.live


def test_a_contact_form_sent_six_times_at_once_is_one_message(
    app, live_server, postgres, mailbox, run_jobs, monkeypatch
):
    monkeypatch.setitem(app.config, "CONTACT_MIN_SECONDS", 0)
    monkeypatch.setitem(app.config, "CONTACT_RATE_LIMIT", "100 per hour")
    http = requests.Session()
    html = http.get(f"{live_server}/contact").text
    data = {
        "csrf_token": csrf_from(html),
        "token": TOKEN_RE.search(html).group(1),
        "name": "Bo",
        "email": "bo@example.dk",
        "subject": "Dobbeltklik",
        "message": "Hej!",
    }

    def send():
        return http.post(f"{live_server}/contact", data=data, allow_redirects=False).status_code

    assert all_at_once([send] * 6) == [302] * 6
    with app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        run_jobs()
    assert len(mailbox.to("bo@example.dk")) == 1
