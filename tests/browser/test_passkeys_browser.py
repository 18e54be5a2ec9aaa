"""In headless Chromium with a virtual authenticator (DevTools protocol, WebAuthn domain):
register a passkey, log out, log in without a password, use the passkey as second factor, remove it.

WebAuthn refuses an IP address as relying party, so the browser opens the live server as
http://localhost:<port> and BASE_URL says the same for the test."""

from __future__ import annotations

import pytest

from app.auth.models import User
from app.auth.sign_in_models import Passkey
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, screenshot

EMAIL = "passkey.browser@example.org"


@pytest.fixture
def localhost(app, live_server, monkeypatch):
    url = live_server.replace("127.0.0.1", "localhost")
    monkeypatch.setitem(app.config, "BASE_URL", url)
    with app.app_context():
        make_user(EMAIL, name="Pála Passkey", locale="da")
        db.session.commit()
    return url


@pytest.fixture
def authenticator_page(browser, localhost):
    """A page whose browser has a platform authenticator with resident keys and verification."""
    context = browser.new_context(base_url=localhost, locale="da-DK")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    # Script errors, CSP refusals and failed loads of our own files (the browser's favicon 404
    # is none of these).
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "requestfinished",
        lambda r: (
            problems.append(r.url)
            if "/static/" in r.url and r.response() and r.response().status >= 400
            else None
        ),
    )
    yield page, cdp, added["authenticatorId"], problems
    context.close()


def _log_out(page):
    page.locator("nav form[action='/auth/logout'] button").click()
    page.wait_for_url("**/")


def _log_in_with_password(page):
    page.goto("/auth/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()


def test_register_sign_in_second_factor_and_remove(app, authenticator_page):
    page, cdp, authenticator_id, problems = authenticator_page

    _log_in_with_password(page)
    page.wait_for_url("**/account")
    page.goto("/account/security")
    page.locator("#new-passkey-name").fill("Bærbar")
    page.locator("#passkey-register-button").click()
    page.wait_for_selector("[data-passkey-name]:has-text('Bærbar')")
    assert page.locator(".alert-success").is_visible()
    screenshot(page, "security-passkeys-da")
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
        "credentials"
    ]
    assert credential["isResidentCredential"] is True  # discoverable: usable without a name

    # Passwordless: no e-mail address, no password, only the passkey.
    _log_out(page)
    page.goto("/auth/login")
    page.locator("#passkey-sign-in-button").click()
    page.wait_for_url("**/account")
    assert "Pála Passkey" in page.locator("h1").inner_text()

    # The password, then the passkey as second factor.
    _log_out(page)
    _log_in_with_password(page)
    page.wait_for_url("**/auth/2fa")
    screenshot(page, "second-factor-passkey-da")
    page.locator("#passkey-second-factor-button").click()
    page.wait_for_url("**/account")

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        [passkey] = db.session.scalars(db.select(Passkey).where(Passkey.user_id == user.id))
        assert passkey.name == "Bærbar" and passkey.last_used_at is not None
        db.session.remove()

    # Remove it (after the confirm dialog); the password alone logs in again.
    page.goto("/account/security")
    page.locator(f"[data-passkey-id='{passkey.id}'] form button[type=submit]").first.click()
    page.locator("#confirm-dialog button[value=yes]").click()
    page.wait_for_selector(".alert-success")
    assert page.locator("[data-passkey-id]").count() == 0
    _log_out(page)
    _log_in_with_password(page)
    page.wait_for_url("**/account")
    assert problems == []


def test_cancelled_ceremony_says_so_in_danish(authenticator_page):
    """No passkey on the authenticator: the sign-in ends with a readable message, not a hang."""
    page, cdp, authenticator_id, _problems = authenticator_page
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False}
    )
    page.goto("/auth/login")
    page.locator("#passkey-sign-in-button").click()
    error = page.locator("#passkey-sign-in-button-error")
    error.wait_for(state="visible", timeout=90_000)
    assert error.inner_text().strip()
    assert "/auth/login" in page.url
    screenshot(page, "login-passkey-da")
