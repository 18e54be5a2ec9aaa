"""A passkey answer replayed many times at once (the same session cookie, the same challenge)
through the live server on PostgreSQL signs in once; with a read-then-delete challenge check
instead of the single DELETE, several replays get in, so the test can fail."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import delete, select

from app.auth import passkeys
from app.auth.sign_in_models import Passkey, PasskeyChallenge
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import csrf_from
from tests.passkey_helpers import SoftAuthenticator
from tests.test_events_concurrency import all_at_once

pytestmark = pytest.mark.live
COPIES = 8


def _replays(app, live_server) -> list[int]:
    """Status codes of COPIES simultaneous sign-ins with one answer and one session cookie."""
    authenticator = SoftAuthenticator(counter=False)  # a synced passkey: no counter to guard
    authenticator.user_handle = b"handle"
    with app.app_context():
        user = make_user("replay@example.org")
        db.session.add(
            Passkey(
                user_id=user.id,
                credential_id=authenticator.id,
                public_key=authenticator._cose_key(),
                user_handle=b"handle",
                name="Synced",
            )
        )
        db.session.commit()
    browser = requests.Session()
    token = csrf_from(browser.get(f"{live_server}/auth/login").text)
    headers = {"X-CSRFToken": token}
    options = browser.post(f"{live_server}/auth/passkey/options", headers=headers, json={})
    answer = {"credential": authenticator.authenticate(options.json(), app.config["BASE_URL"])}
    copies = []
    for _ in range(COPIES):
        copy = requests.Session()
        copy.cookies.update(browser.cookies)
        copies.append(copy)
    url = f"{live_server}/auth/passkey"
    calls = [lambda s=s: s.post(url, headers=headers, json=answer) for s in copies]
    return [r.status_code for r in all_at_once(calls)]


def test_replays_at_once_sign_in_once(app, live_server, postgres):
    statuses = _replays(app, live_server)
    assert sorted(statuses) == [200] + [400] * (COPIES - 1)


def test_replays_without_the_single_delete_get_in_twice(app, live_server, postgres, monkeypatch):
    def naive_use_challenge(challenge, purpose, user_id):
        row = db.session.scalar(
            select(PasskeyChallenge).where(
                PasskeyChallenge.challenge_hash == passkeys._challenge_hash(challenge),
                PasskeyChallenge.expires_at > utcnow(),
            )
        )
        if row is None:
            raise passkeys.PasskeyFailed("expired")
        time.sleep(0.1)  # the gap between reading and deleting that replays fall into
        db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.id == row.id))

    monkeypatch.setattr(passkeys, "use_challenge", naive_use_challenge)
    statuses = _replays(app, live_server)
    assert statuses.count(200) > 1
