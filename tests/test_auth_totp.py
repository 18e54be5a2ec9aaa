"""TOTP second factor (ASVS 6.3.3, 6.5): setup, the second step at login, replay, recovery
codes, lockout, and staff made to set one up."""

import re
from datetime import UTC, datetime

import pyotp
import pytest

from app.api.services import create_token
from app.auth import totp
from app.auth.models import RecoveryCode, SignInSession
from app.core import timeutil
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, login, post_form

NOW = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The app's clock, stopped at NOW (and moved by the test)."""
    state = {"now": NOW}
    monkeypatch.setattr(timeutil, "clock", lambda: state["now"])
    return state


@pytest.fixture
def member(ctx):
    user = make_user("totp@example.org")
    db.session.commit()
    return user


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _set_up(client, clock) -> tuple[str, list[str]]:
    """Set up TOTP through the pages; returns the secret and the recovery codes."""
    page = client.get("/account/security/totp").get_data(as_text=True)
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page).group(1)
    done = post_form(
        client,
        "/account/security/totp",
        {"code": _code(secret, clock["now"])},
        page_url="/account/security/totp",
    ).get_data(as_text=True)
    codes = re.findall(r"<li class=\"col\" data-recovery-code>([0-9a-f-]+)</li>", done)
    return secret, codes


def _enrolled(app, clock, email="totp@example.org"):
    client = app.test_client()
    login(client, email)
    secret, codes = _set_up(client, clock)
    post_form(client, "/auth/logout", {}, page_url="/account")
    return secret, codes


def test_setup_shows_qr_and_key_and_turns_on_with_a_first_code(app, client, member, clock):
    login(client, "totp@example.org")
    page = client.get("/account/security/totp").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page).group(1)
    db.session.refresh(member)
    assert member.totp_secret and secret not in member.totp_secret  # stored encrypted
    assert totp.secret_of(member) == secret

    wrong = post_form(
        client, "/account/security/totp", {"code": "000000"}, page_url="/account/security/totp"
    )
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    done = post_form(
        client,
        "/account/security/totp",
        {"code": _code(secret, NOW)},
        page_url="/account/security/totp",
    ).get_data(as_text=True)
    codes = re.findall(r"data-recovery-code>([0-9a-f-]+)<", done)
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.refresh(member)
    assert member.totp_confirmed_at is not None
    stored = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed
    assert 'data-totp-state="on"' in client.get("/account/security").get_data(as_text=True)


def test_login_asks_for_the_code_after_the_password(app, client, member, clock):
    secret, _codes = _enrolled(app, clock)
    response = login(client, "totp@example.org")
    assert response.headers["Location"].endswith("/auth/2fa")
    assert client.get("/account").status_code == 302  # not signed in yet
    clock["now"] = NOW.replace(minute=1)
    done = post_form(client, "/auth/2fa", {"code": _code(secret, clock["now"])})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200
    row = db.session.scalars(db.select(SignInSession)).one()
    assert row.second_factor and row.method == "password+totp"


def test_a_code_is_accepted_once(app, member, clock):
    secret, _codes = _enrolled(app, clock)
    clock["now"] = NOW.replace(minute=2)
    code = _code(secret, clock["now"])
    first, second = app.test_client(), app.test_client()
    login(first, "totp@example.org")
    assert post_form(first, "/auth/2fa", {"code": code}).status_code == 302
    login(second, "totp@example.org")
    replay = post_form(second, "/auth/2fa", {"code": code})
    assert replay.status_code == 422 and "used already" in replay.get_data(as_text=True)
    assert second.get("/account").status_code == 302


def test_codes_one_step_off_are_accepted_two_steps_off_refused(app, client, member, clock):
    secret, _codes = _enrolled(app, clock)
    clock["now"] = NOW.replace(minute=10)
    login(client, "totp@example.org")
    too_old = _code(secret, NOW.replace(minute=9, second=0))  # 60 s ago: two steps back
    assert post_form(client, "/auth/2fa", {"code": too_old}).status_code == 422
    previous = _code(secret, NOW.replace(minute=9, second=31))  # one step back
    assert post_form(client, "/auth/2fa", {"code": previous}).status_code == 302


def test_recovery_code_works_once(app, member, clock):
    _secret, codes = _enrolled(app, clock)
    first, second = app.test_client(), app.test_client()
    login(first, "totp@example.org")
    used = post_form(first, "/auth/2fa", {"code": codes[0].upper()}, follow_redirects=True)
    assert "recovery code" in used.get_data(as_text=True)
    assert first.get("/account").status_code == 200
    login(second, "totp@example.org")
    assert post_form(second, "/auth/2fa", {"code": codes[0]}).status_code == 422
    assert "9 recovery codes left" in first.get("/account/security").get_data(as_text=True)


def test_second_step_locks_out_after_five_failures(app, client, member, clock):
    secret, _codes = _enrolled(app, clock)
    login(client, "totp@example.org")
    for _ in range(5):
        assert post_form(client, "/auth/2fa", {"code": "123456"}).status_code == 422
    clock["now"] = NOW.replace(minute=3)
    locked = post_form(client, "/auth/2fa", {"code": _code(secret, clock["now"])})
    assert locked.status_code == 422 and "Too many failed attempts" in locked.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_second_step_needs_a_fresh_password_step(app, client, member, clock):
    _enrolled(app, clock)
    response = client.get("/auth/2fa")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_turning_totp_off_needs_a_recent_check(app, client, member, clock):
    secret, _codes = _enrolled(app, clock)
    clock["now"] = NOW.replace(minute=5)
    login(client, "totp@example.org")
    post_form(client, "/auth/2fa", {"code": _code(secret, clock["now"])})
    clock["now"] = NOW.replace(minute=16)  # 11 minutes after the last check
    refused = post_form(client, "/account/security/totp/disable", {}, page_url="/account/security")
    assert "/auth/confirm" in refused.headers["Location"]
    db.session.refresh(member)
    assert member.totp_confirmed_at is not None
    confirm = post_form(
        client,
        "/auth/confirm?next=/account/security",
        {"code": _code(secret, clock["now"])},
        page_url="/auth/confirm?next=/account/security",
    )
    assert confirm.headers["Location"].endswith("/account/security")
    post_form(client, "/account/security/totp/disable", {}, page_url="/account/security")
    db.session.refresh(member)
    assert member.totp_confirmed_at is None and member.totp_secret is None


@pytest.fixture
def require_2fa(app):
    app.config["REQUIRE_2FA_FOR_STAFF"] = True
    yield
    app.config["REQUIRE_2FA_FOR_STAFF"] = False


def test_staff_are_sent_to_set_up_a_second_factor(app, client, ctx, clock, require_2fa):
    staff = make_user("door-staff@example.org", roles=["door"])
    db.session.commit()
    response = login(client, "door-staff@example.org")
    assert "/account/security/totp" in response.headers["Location"]
    for path in ("/staff/", "/door/"):
        gate = client.get(path)
        assert gate.status_code == 302 and "/account/security/totp" in gate.headers["Location"]
    _token, key = create_token(staff, "scanner")
    db.session.commit()
    api = client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "second_factor_required"

    _set_up(client, clock)
    assert client.get("/staff/").status_code == 200
    assert client.get("/door/").status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Token {key}"}).status_code == 200


def test_staff_home_says_when_second_factors_are_not_required(app, client, ctx):
    make_user("organiser@example.org", roles=["organiser"])
    db.session.commit()
    login(client, "organiser@example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert 'data-second-factor-notice="off"' in page


def test_member_without_staff_role_is_not_forced(app, client, member, require_2fa):
    response = login(client, "totp@example.org", PASSWORD)
    assert response.headers["Location"].endswith("/account")
