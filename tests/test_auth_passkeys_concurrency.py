"""Races on PostgreSQL through the live server. A passkey answer replayed many times at once (the
same session cookie, the same challenge) signs in once; the last two ways in (a passkey and a
provider) removed at once leave one. Each has a twin without the guard that goes wrong."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import delete, func, select

from app.auth import passkeys, sign_in_methods, sso_accounts
from app.auth.sign_in_models import Passkey, PasskeyChallenge, SignInIdentity
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import csrf_from
from tests.passkey_helpers import SoftAuthenticator
from tests.test_events_concurrency import all_at_once, post, signed_in

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


def _remove_both_at_once(app, live_server) -> tuple[list[int], int]:
    """An account whose only ways in are one passkey and one provider removes both at once."""
    with app.app_context():
        user = make_user("lastway@example.org")
        user.password_hash = ""  # made by single sign-on: no password
        passkey = Passkey(
            user_id=user.id,
            credential_id="last-way",
            public_key=b"key",
            user_handle=b"handle",
            name="Phone",
        )
        identity = SignInIdentity(provider="oidc", subject="last-way", user_id=user.id)
        db.session.add_all([passkey, identity])
        db.session.commit()
        user_id, passkey_id, identity_id = user.id, passkey.id, identity.id
        http, token = signed_in(app, user_id, live_server)
    urls = [
        f"{live_server}/account/security/passkeys/{passkey_id}/delete",
        f"{live_server}/account/security/providers/{identity_id}/unlink",
    ]
    responses = all_at_once([post(http, url, token) for url in urls])
    with app.app_context():
        left = db.session.scalar(
            select(func.count(Passkey.id)).where(Passkey.user_id == user_id)
        ) + db.session.scalar(
            select(func.count(SignInIdentity.id)).where(SignInIdentity.user_id == user_id)
        )
        db.session.remove()
    return [r.status_code for r in responses], left


def test_the_last_two_ways_in_removed_at_once_leave_one(app, live_server, postgres):
    statuses, left = _remove_both_at_once(app, live_server)
    assert statuses == [302, 302]  # both answered (one with "your only way to sign in")
    assert left == 1


def test_without_the_row_lock_both_go(app, live_server, postgres, monkeypatch):
    def naive(user, *, passkey=None, identity=None):
        passkeys_left = db.session.scalar(
            select(func.count(Passkey.id)).where(
                Passkey.user_id == user.id, Passkey.id != (passkey.id if passkey else -1)
            )
        )
        identities_left = db.session.scalar(
            select(func.count(SignInIdentity.id)).where(
                SignInIdentity.user_id == user.id,
                SignInIdentity.id != (identity.id if identity else -1),
            )
        )
        time.sleep(0.2)  # both requests count before either deletes
        return bool(passkeys_left or identities_left)

    monkeypatch.setattr(sign_in_methods, "other_sign_in_methods", naive)
    monkeypatch.setattr(sso_accounts, "other_sign_in_methods", naive)
    _statuses, left = _remove_both_at_once(app, live_server)
    assert left == 0  # locked out for good: what the lock prevents
