"""Server-side sign-in sessions (ASVS 7.2-7.5): logout, idle and absolute expiry, remember-me
rotation, ending sessions, and what a password change or reset ends."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.api.services import create_token
from app.auth.models import SignInSession
from app.auth.sessions import hash_key
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, login, post_form

REMEMBER = "felag_remember"


@pytest.fixture
def member(ctx):
    user = make_user("session@example.org")
    db.session.commit()
    return user


def _cookie(client, name="session"):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _copy_of(app, client, name="session"):
    thief = app.test_client()
    thief.set_cookie(name, _cookie(client, name))
    return thief


def _rows(user_id, kind=None):
    stmt = select(SignInSession).where(SignInSession.user_id == user_id)
    if kind:
        stmt = stmt.where(SignInSession.kind == kind)
    return db.session.scalars(stmt).all()


def _logout(client):
    return post_form(client, "/auth/logout", {}, page_url="/account")


def test_cookie_holds_only_a_random_key_whose_hash_is_stored(app, client, member):
    login(client, "session@example.org")
    with client.session_transaction() as session:
        key = session["_user_id"]
    assert key != str(member.id) and len(key) >= 40
    [row] = _rows(member.id)
    assert row.key_hash == hash_key(key) and row.key_hash != key
    assert row.kind == "session" and row.method == "password" and not row.remember
    assert row.address == "127.0.0.1"


def test_copied_cookie_is_worthless_after_logout(app, client, member):
    login(client, "session@example.org")
    thief = _copy_of(app, client)
    assert thief.get("/account").status_code == 200  # the copy works while the session lives
    _logout(client)
    assert _rows(member.id) == []  # logout deletes the row
    assert thief.get("/account").status_code == 302
    assert client.get("/account").status_code == 302


def test_idle_session_ends(app, client, member):
    login(client, "session@example.org")
    assert client.get("/account").status_code == 200
    idle = app.config["SESSION_IDLE_MINUTES"]
    db.session.execute(
        update(SignInSession).values(last_seen_at=utcnow() - timedelta(minutes=idle + 1))
    )
    db.session.commit()
    assert client.get("/account").status_code == 302
    assert _rows(member.id) == []  # the dead row is removed on sight


def test_session_within_idle_time_lives_and_last_seen_moves_once_a_minute(app, client, member):
    login(client, "session@example.org")
    earlier = utcnow() - timedelta(minutes=30)
    db.session.execute(update(SignInSession).values(last_seen_at=earlier))
    db.session.commit()
    assert client.get("/account").status_code == 200
    [row] = _rows(member.id)
    assert row.last_seen_at > earlier + timedelta(minutes=29)
    seen = row.last_seen_at
    client.get("/account")
    db.session.expire_all()
    assert _rows(member.id)[0].last_seen_at == seen  # not written again within the minute


def test_absolute_limit_ends_even_an_active_session(app, client, member):
    login(client, "session@example.org")
    [row] = _rows(member.id)
    assert row.expires_at - row.created_at == timedelta(hours=12)
    db.session.execute(update(SignInSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/account").status_code == 302


def _login_remembered(client):
    return post_form(
        client,
        "/auth/login",
        {"email": "session@example.org", "password": PASSWORD, "remember": "y"},
    )


def test_remember_me_starts_a_new_session_and_rotates_its_key(app, client, member):
    _login_remembered(client)
    first_key = _cookie(client, REMEMBER)
    assert first_key
    [remember] = _rows(member.id, "remember")
    assert remember.expires_at - remember.created_at == timedelta(days=30)
    client.delete_cookie("session")  # the browser was closed
    assert client.get("/account").status_code == 200
    second_key = _cookie(client, REMEMBER)
    assert second_key and second_key != first_key  # rotated on use
    assert len(_rows(member.id, "session")) == 2  # a new session row; the first one idles out

    stolen = app.test_client()
    stolen.set_cookie(REMEMBER, first_key)  # an old copy of the remember cookie
    assert stolen.get("/account").status_code == 302


def test_logout_revokes_the_remember_cookie(app, client, member):
    _login_remembered(client)
    copy = _copy_of(app, client, REMEMBER)
    _logout(client)
    assert _rows(member.id) == []
    assert copy.get("/account").status_code == 302
    assert client.get_cookie(REMEMBER) is None


def test_expired_remember_key_is_refused(app, client, member):
    _login_remembered(client)
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.kind == "remember")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302


def test_security_page_lists_sessions_and_ends_others(app, member):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    login(phone, "session@example.org", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/1"})
    login(tablet, "session@example.org")
    login(
        laptop, "session@example.org", headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/1"}
    )
    page = laptop.get("/account/security").get_data(as_text=True)
    assert page.count("data-session-id=") == 3
    assert "Safari / iPhone" in page and "This device" in page

    phone_row = next(r for r in _rows(member.id) if r.browser == "Safari / iPhone")
    response = post_form(
        laptop, f"/account/security/sessions/{phone_row.id}/end", {}, page_url="/account/security"
    )
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert tablet.get("/account").status_code == 200

    post_form(laptop, "/account/security/sessions/end-others", {}, page_url="/account/security")
    assert tablet.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_someone_elses_session_cannot_be_ended(app, client, member):
    other = make_user("other-session@example.org")
    db.session.commit()
    other_client = app.test_client()
    login(other_client, "other-session@example.org")
    [row] = _rows(other.id)
    login(client, "session@example.org")
    response = post_form(
        client, f"/account/security/sessions/{row.id}/end", {}, page_url="/account/security"
    )
    assert response.status_code == 404
    assert other_client.get("/account").status_code == 200


def test_password_change_ends_other_sessions_and_revokes_tokens(app, member):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "session@example.org")
    login(phone, "session@example.org")
    _token, key = create_token(member, "phone app")
    db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Token {key}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    new = "another long passphrase"
    response = post_form(
        laptop,
        "/account/password",
        {"pw-current_password": PASSWORD, "pw-password": new, "pw-password_confirm": new},
        page_url="/account/security",
    )
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    assert api.get("/api/v1/me", headers=headers).status_code == 401  # at once


def test_password_reset_ends_every_session_and_signs_in_anew(
    app, client, member, mailbox, run_jobs
):
    phone = app.test_client()
    login(phone, "session@example.org")
    _token, key = create_token(member, "sync")
    db.session.commit()
    post_form(client, "/auth/reset", {"email": "session@example.org"})
    run_jobs()
    [message] = mailbox.to("session@example.org")
    from tests.helpers import first_link

    path = "/" + first_link(message).split("://", 1)[1].split("/", 1)[1]
    new = "a brand new passphrase"
    response = post_form(client, path, {"password": new, "password_confirm": new})
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert client.get("/account").status_code == 200  # signed in with a new session
    [row] = _rows(member.id)
    assert row.method == "reset"
    headers = {"Authorization": f"Token {key}"}
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_closing_an_account_ends_its_sessions(app, client, member):
    login(client, "session@example.org")
    member.is_active_account = False
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_production_cookies_carry_the_host_prefix(app, client, member):
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_NAME == "__Host-session"
    assert ProductionConfig.REMEMBER_KEY_COOKIE == "__Host-remember"
    saved = {k: app.config[k] for k in ("SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE")}
    saved["REMEMBER_KEY_COOKIE"] = app.config["REMEMBER_KEY_COOKIE"]
    app.config.update(
        SESSION_COOKIE_NAME="__Host-session",
        SESSION_COOKIE_SECURE=True,
        REMEMBER_KEY_COOKIE="__Host-remember",
    )
    try:
        secure = app.test_client()
        page = secure.get("/auth/login", base_url="https://localhost")
        from tests.helpers import csrf_from

        response = secure.post(
            "/auth/login",
            base_url="https://localhost",
            headers={"Referer": "https://localhost/auth/login"},  # CSRF's HTTPS check
            data={
                "csrf_token": csrf_from(page.get_data(as_text=True)),
                "email": "session@example.org",
                "password": PASSWORD,
                "remember": "y",
            },
        )
        cookies = response.headers.getlist("Set-Cookie")
        for name in ("__Host-session=", "__Host-remember="):
            [cookie] = [c for c in cookies if c.startswith(name)]
            assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
            assert "HttpOnly" in cookie
    finally:
        app.config.update(saved)


def test_one_remember_cookie_sent_six_times_at_once_starts_one_session(
    app, client, member, postgres, live_server
):
    """PostgreSQL, real concurrent requests: the remember key is replaced by a conditional
    UPDATE, so of six requests presenting the same key at once one signs in, the others are
    sent to log in (no server error, no second session)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    _login_remembered(client)
    key = _cookie(client, REMEMBER)
    before = len(_rows(member.id, "session"))
    db.session.remove()
    browsers = []
    for _ in range(6):
        browser = requests.Session()
        browser.cookies.set(REMEMBER, key)
        browsers.append(browser)
    barrier = threading.Barrier(len(browsers))

    def visit(browser):
        barrier.wait()
        return browser.get(f"{live_server}/account", allow_redirects=False, timeout=30)

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        answers = list(pool.map(visit, browsers))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 302, 302, 302, 302, 302]
    assert all("/auth/login" in a.headers["Location"] for a in answers if a.status_code == 302)
    assert len(_rows(member.id, "session")) == before + 1


def test_the_session_cookie_is_sent_again_when_last_seen_moves_not_with_every_page(
    app, client, member
):
    login(client, "session@example.org")
    client.get("/account")
    quiet = client.get("/account")  # within the minute: nothing new to say
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    db.session.execute(update(SignInSession).values(last_seen_at=utcnow() - timedelta(minutes=59)))
    db.session.commit()
    moved = client.get("/account")  # the idle clock starts again, and the cookie's with it
    cookie = moved.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=") and "Expires=" in cookie
    assert client.get("/account").status_code == 200


def test_static_files_do_not_send_the_session_cookie_again(app, client, member):
    login(client, "session@example.org")
    db.session.execute(update(SignInSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    page = client.get("/account")
    assert "session=" in page.headers.get("Set-Cookie", "")  # last seen moved: sent again
    for path in ("/static/css/app.css", "/static/img/favicon.svg"):
        answer = client.get(path)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers, path
    assert client.get("/account").status_code == 200  # still signed in
