"""Passkey ceremonies through HTTP with a software authenticator: registration, passwordless
sign-in, second factor, and the answers that must be refused (another challenge, a replayed or
expired challenge, another origin or RP ID, a counter that went back, no user verification)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import SignInSession
from app.auth.sign_in_models import Passkey, PasskeyChallenge
from app.core import timeutil
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, csrf_from, login, post_form
from tests.passkey_helpers import SoftAuthenticator, b64


def _origin(app) -> str:
    return app.config["BASE_URL"]


def _token(client, url: str) -> dict:
    return {"X-CSRFToken": csrf_from(client.get(url).get_data(as_text=True))}


def _register(client, app, authenticator, name="My laptop"):
    headers = _token(client, "/account/security")
    options = client.post("/account/security/passkeys/options", headers=headers, json={})
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = authenticator.register(options.get_json(), _origin(app))
    return client.post(
        "/account/security/passkeys", headers=headers, json={"credential": answer, "name": name}
    )


def _sign_in_options(client):
    headers = _token(client, "/auth/login")
    options = client.post("/auth/passkey/options", headers=headers, json={})
    assert options.status_code == 200
    return headers, options.get_json()


def _sign_in(client, app, authenticator, **answer):
    headers, options = _sign_in_options(client)
    credential = authenticator.authenticate(options, _origin(app), **answer)
    return client.post("/auth/passkey", headers=headers, json={"credential": credential})


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _logout(client):
    post_form(client, "/auth/logout", {}, page_url="/account")


@pytest.fixture
def member_with_passkey(app, client, ctx):
    """A member who registered a passkey (counter-less, like a synced passkey) and logged out."""
    user = make_user("passkey@example.org", name="Pia Passkey")
    db.session.commit()
    login(client, "passkey@example.org")
    authenticator = SoftAuthenticator(counter=False)
    response = _register(client, app, authenticator)
    assert response.status_code == 200, response.get_data(as_text=True)
    _logout(client)
    assert not _signed_in(client)
    return user, authenticator


def test_register_then_sign_in_without_password(app, client, ctx):
    user = make_user("pk1@example.org")
    db.session.commit()
    login(client, "pk1@example.org")
    authenticator = SoftAuthenticator()
    response = _register(client, app, authenticator, name="  Work   key ")
    assert response.status_code == 200
    assert response.get_json() == {"redirect": "/account/security"}
    page = client.get("/account/security").get_data(as_text=True)
    assert "Work key" in page and 'data-passkey-id="' in page
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == user.id))
    assert passkey.credential_id == authenticator.id and passkey.name == "Work key"
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "auth.passkey_added", AuditEntry.object_id == passkey.id
        )
    )

    _logout(client)
    response = _sign_in(client, app, authenticator)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["redirect"] == "/account"
    assert _signed_in(client)
    row = db.session.scalar(select(SignInSession).where(SignInSession.user_id == user.id))
    assert row.second_factor is True and row.method == "passkey"
    db.session.refresh(passkey)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None


def test_answer_to_another_challenge_is_refused(app, client, member_with_passkey):
    _user, authenticator = member_with_passkey
    response = _sign_in(client, app, authenticator, challenge=b64(b"x" * 32))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "passkey_failed"
    assert not _signed_in(client)


def test_replayed_challenge_is_refused(app, client, member_with_passkey):
    """The same answer sent again with the same session cookie (the challenge still in it)."""
    _user, authenticator = member_with_passkey
    headers, options = _sign_in_options(client)
    copied_cookie = client.get_cookie("session").value
    credential = authenticator.authenticate(options, _origin(app))
    first = client.post("/auth/passkey", headers=headers, json={"credential": credential})
    assert first.status_code == 200 and _signed_in(client)

    replay = app.test_client()
    replay.set_cookie("session", copied_cookie)
    second = replay.post("/auth/passkey", headers=headers, json={"credential": credential})
    assert second.status_code == 400
    assert "expired" in second.get_json()["error"]["message"]
    assert not _signed_in(replay)


def test_expired_challenge_is_refused(app, client, member_with_passkey, monkeypatch):
    _user, authenticator = member_with_passkey
    headers, options = _sign_in_options(client)
    later = timeutil.utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(timeutil, "clock", lambda: later)
    credential = authenticator.authenticate(options, _origin(app))
    response = client.post("/auth/passkey", headers=headers, json={"credential": credential})
    assert response.status_code == 400
    assert not _signed_in(client)


@pytest.mark.parametrize(
    "answer",
    [{"origin": "https://evil.example.org"}, {"rp_id": "evil.example.org"}],
    ids=["wrong origin", "wrong RP ID"],
)
def test_answer_for_another_site_is_refused(app, client, member_with_passkey, answer):
    _user, authenticator = member_with_passkey
    headers, options = _sign_in_options(client)
    origin = answer.get("origin", _origin(app))
    credential = authenticator.authenticate(options, origin, rp_id=answer.get("rp_id"))
    response = client.post("/auth/passkey", headers=headers, json={"credential": credential})
    assert response.status_code == 400
    assert not _signed_in(client)


def test_a_failed_answer_uses_up_its_challenge(app, client, member_with_passkey):
    _user, authenticator = member_with_passkey
    headers, options = _sign_in_options(client)
    copied_cookie = client.get_cookie("session").value
    bad = authenticator.authenticate(options, "https://evil.example.org")
    assert (
        client.post("/auth/passkey", headers=headers, json={"credential": bad}).status_code == 400
    )
    client.set_cookie("session", copied_cookie)  # the challenge is back in the session ...
    good = authenticator.authenticate(options, _origin(app))
    response = client.post("/auth/passkey", headers=headers, json={"credential": good})
    assert response.status_code == 400  # ... but no longer in the database
    assert db.session.scalar(select(PasskeyChallenge.id)) is None


def test_counter_that_goes_back_is_refused(app, client, ctx):
    make_user("clone@example.org")
    db.session.commit()
    login(client, "clone@example.org")
    authenticator = SoftAuthenticator()
    assert _register(client, app, authenticator).status_code == 200
    _logout(client)
    assert _sign_in(client, app, authenticator, count=5).status_code == 200
    _logout(client)
    response = _sign_in(client, app, authenticator, count=5)  # a clone, or a replay
    assert response.status_code == 400
    assert not _signed_in(client)


def test_passwordless_sign_in_needs_user_verification(app, client, member_with_passkey):
    _user, authenticator = member_with_passkey
    response = _sign_in(client, app, authenticator, verified=False)
    assert response.status_code == 400
    assert not _signed_in(client)


def test_passkey_serves_as_second_factor_after_the_password(app, client, member_with_passkey):
    user, authenticator = member_with_passkey
    response = login(client, "passkey@example.org")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/2fa")
    assert not _signed_in(client)
    headers = _token(client, "/auth/2fa")
    assert "passkey-second-factor-button" in client.get("/auth/2fa").get_data(as_text=True)
    options = client.post("/auth/2fa/passkey/options", headers=headers, json={}).get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.id]
    credential = authenticator.authenticate(options, _origin(app), verified=False)
    response = client.post("/auth/2fa/passkey", headers=headers, json={"credential": credential})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _signed_in(client)
    row = db.session.scalar(select(SignInSession).where(SignInSession.user_id == user.id))
    assert row.second_factor is True and row.method.endswith("+passkey")


def test_a_passkey_only_second_step_asks_for_the_passkey_not_a_code(client, member_with_passkey):
    assert login(client, "passkey@example.org").headers["Location"].endswith("/auth/2fa")
    page = client.get("/auth/2fa").get_data(as_text=True)
    assert "passkey-second-factor-button" in page and "Use your passkey to finish" in page
    assert 'name="code"' not in page


def test_confirming_with_only_a_passkey_offers_the_password_beside_it(
    app, client, member_with_passkey, monkeypatch
):
    _user, authenticator = member_with_passkey
    assert _sign_in(client, app, authenticator).status_code == 200
    later = timeutil.utcnow() + timedelta(minutes=11)
    monkeypatch.setattr(timeutil, "clock", lambda: later)
    page = client.get("/auth/confirm?next=/account/security").get_data(as_text=True)
    assert 'name="password"' in page and "passkey-second-factor-button" in page
    assert 'name="code"' not in page
    confirmed = post_form(
        client,
        "/auth/confirm?next=/account/security",
        {"password": PASSWORD},
        page_url="/auth/confirm?next=/account/security",
    )
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith("/account/security")


def test_second_factor_refuses_another_users_passkey(app, client, member_with_passkey):
    _owner, authenticator = member_with_passkey
    make_user("other@example.org")
    other = SoftAuthenticator()
    db.session.commit()
    login(client, "other@example.org")
    assert _register(client, app, other).status_code == 200
    _logout(client)
    assert login(client, "other@example.org").headers["Location"].endswith("/auth/2fa")
    headers = _token(client, "/auth/2fa")
    options = client.post("/auth/2fa/passkey/options", headers=headers, json={}).get_json()
    credential = authenticator.authenticate(options, _origin(app))  # the first member's key
    response = client.post("/auth/2fa/passkey", headers=headers, json={"credential": credential})
    assert response.status_code == 400
    assert not _signed_in(client)


def test_malformed_answers_get_the_json_error_shape(app, client, member_with_passkey):
    headers, _options = _sign_in_options(client)
    for body in ({}, {"credential": "nonsense"}, {"credential": {"id": "x", "response": {}}}):
        response = client.post("/auth/passkey", headers=headers, json=body)
        assert response.status_code == 400
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    response = client.post("/auth/passkey", headers=headers, data="not json")
    assert response.status_code == 400


def test_ceremony_calls_need_the_csrf_token(client):
    client.get("/auth/login")
    assert client.post("/auth/passkey/options", json={}).status_code == 400


def test_rename_and_remove_with_audit(app, client, ctx):
    user = make_user("manage@example.org")
    db.session.commit()
    login(client, "manage@example.org")
    assert _register(client, app, SoftAuthenticator(), name="Old name").status_code == 200
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == user.id))
    response = post_form(
        client,
        f"/account/security/passkeys/{passkey.id}/rename",
        {"name": "Phone"},
        page_url="/account/security",
    )
    assert response.status_code == 302
    db.session.refresh(passkey)
    assert passkey.name == "Phone"
    response = post_form(
        client, f"/account/security/passkeys/{passkey.id}/delete", {}, page_url="/account/security"
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id)) is None
    actions = set(db.session.scalars(select(AuditEntry.action)).all())
    assert {"auth.passkey_added", "auth.passkey_renamed", "auth.passkey_removed"} <= actions


def test_someone_elses_passkey_cannot_be_renamed_or_removed(app, client, member_with_passkey):
    owner, _authenticator = member_with_passkey
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == owner.id))
    make_user("intruder@example.org")
    db.session.commit()
    login(client, "intruder@example.org")
    for action, data in (("rename", {"name": "Mine now"}), ("delete", {})):
        post_form(
            client,
            f"/account/security/passkeys/{passkey.id}/{action}",
            data,
            page_url="/account/security",
        )
    db.session.refresh(passkey)
    assert passkey.name == "My laptop"


def test_last_way_to_sign_in_cannot_be_removed(app, client, member_with_passkey):
    user, authenticator = member_with_passkey
    user.password_hash = ""  # an account made by single sign-on, later unlinked: passkey only
    db.session.commit()
    assert _sign_in(client, app, authenticator).status_code == 200
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == user.id))
    response = post_form(
        client,
        f"/account/security/passkeys/{passkey.id}/delete",
        {},
        page_url="/account/security",
        follow_redirects=True,
    )
    assert "only way to sign in" in response.get_data(as_text=True)
    assert db.session.get(Passkey, passkey.id) is not None


def test_the_same_passkey_cannot_be_registered_twice(app, client, member_with_passkey):
    _user, authenticator = member_with_passkey
    login(client, "passkey@example.org")  # password, then the passkey as second factor
    headers = _token(client, "/auth/2fa")
    options = client.post("/auth/2fa/passkey/options", headers=headers, json={}).get_json()
    credential = authenticator.authenticate(options, _origin(app))
    assert (
        client.post(
            "/auth/2fa/passkey", headers=headers, json={"credential": credential}
        ).status_code
        == 200
    )
    headers = _token(client, "/account/security")
    options = client.post("/account/security/passkeys/options", headers=headers, json={})
    assert [c["id"] for c in options.get_json()["excludeCredentials"]] == [authenticator.id]
    answer = authenticator.register(options.get_json(), _origin(app))
    response = client.post(
        "/account/security/passkeys", headers=headers, json={"credential": answer}
    )
    assert response.status_code == 400
    assert db.session.query(Passkey).count() == 1


def test_passkey_confirms_it_is_you_before_removal(app, client, member_with_passkey, monkeypatch):
    """Eleven minutes after the login, removing a passkey asks again; the passkey answers."""
    user, authenticator = member_with_passkey
    assert _sign_in(client, app, authenticator).status_code == 200
    passkey_id = db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id))
    later = timeutil.utcnow() + timedelta(minutes=11)
    monkeypatch.setattr(timeutil, "clock", lambda: later)
    url = f"/account/security/passkeys/{passkey_id}/delete"
    asked = post_form(client, url, {}, page_url="/account/security")
    assert "/auth/confirm" in asked.headers["Location"]
    assert db.session.scalar(select(Passkey.id).where(Passkey.id == passkey_id))

    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "passkey-second-factor-button" in page
    headers = {"X-CSRFToken": csrf_from(page)}
    options = client.post("/auth/2fa/passkey/options", headers=headers, json={}).get_json()
    credential = authenticator.authenticate(options, _origin(app))
    confirmed = client.post("/auth/2fa/passkey", headers=headers, json={"credential": credential})
    assert confirmed.status_code == 200 and confirmed.get_json()["redirect"]

    user.password_hash = "set again"  # not the last way in, so the removal may go ahead
    db.session.commit()
    done = post_form(client, url, {}, page_url="/account/security")
    assert done.headers["Location"].endswith("/account/security")
    assert db.session.scalar(select(Passkey.id).where(Passkey.id == passkey_id)) is None


def test_second_factor_call_without_a_pending_sign_in(client):
    headers = _token(client, "/auth/login")
    response = client.post("/auth/2fa/passkey/options", headers=headers, json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "sign_in_expired"
