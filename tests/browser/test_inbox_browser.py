"""In headless Chromium at phone size, in Danish: a visitor sends the contact form, a member
writes to the association, staff answer from the inbox and the member reads the answer.
Screenshots of each new page."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, screenshot


def _login(page, email):
    page.wait_for_load_state("networkidle")  # no answer still on its way to set a cookie again
    page.context.clear_cookies()
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def test_contact_messages_and_staff_inbox_on_a_phone(app, phone_page, monkeypatch):
    # The minimum fill time is the spam tests' business; a test browser types in no time.
    monkeypatch.setitem(app.config, "CONTACT_MIN_SECONDS", 0)
    with app.app_context():
        make_user(email="mette@example.dk", name="Mette Lund", locale="da")
        make_user(
            email="sekretaer@example.dk", name="Søren Sekretær", roles=["membership"], locale="da"
        )
        db.session.commit()
    page = phone_page

    page.goto("/contact")
    box = page.locator("#website").bounding_box()
    assert box["x"] + box["width"] <= 0  # the honeypot is out of a person's sight
    page.locator("#name").fill("Jens Hansen")
    page.locator("#email").fill("jens@example.dk")
    page.locator("#subject").fill("Lokaleleje")
    page.locator("#message").fill("Kan man leje jeres lokale til en fødselsdag?")
    screenshot(page, "inbox-contact-phone")
    page.locator("#submit").click()
    expect(page.locator(".alert-success")).to_be_visible()

    _login(page, "mette@example.dk")
    page.goto("/account/messages")
    page.locator("#subject").fill("Adresseændring")
    page.locator("#message").fill("Jeg er flyttet til Aarhus.\n\nVenlig hilsen Mette")
    page.locator("#submit").click()
    expect(page.locator("#thread")).to_contain_text("Jeg er flyttet til Aarhus.")

    _login(page, "sekretaer@example.dk")
    page.goto("/staff/inbox/")
    expect(page.locator("#nav-inbox [data-unread]")).to_have_attribute("data-unread", "2")
    expect(page.locator("#conversations")).to_contain_text("Lokaleleje")
    screenshot(page, "inbox-staff-list-phone")
    page.get_by_role("link", name="Adresseændring").click()
    page.locator("#note-note").fill("Husk også kontingentlisten")
    page.locator("#note-submit").click()
    page.locator("#reply-message").fill("Tak, Mette. Din adresse er rettet.")
    page.locator("#reply-submit").click()
    expect(page.locator("#conversation-state")).to_have_attribute("data-state", "waiting")
    screenshot(page, "inbox-staff-conversation-phone")

    _login(page, "mette@example.dk")
    expect(page.locator("#nav-messages [data-unread]")).to_have_attribute("data-unread", "1")
    page.goto("/account/messages")
    screenshot(page, "inbox-messages-phone")
    page.get_by_role("link", name="Adresseændring").click()
    expect(page.locator("#thread")).to_contain_text("Din adresse er rettet.")
    expect(page.locator("#thread")).not_to_contain_text("kontingentlisten")
    screenshot(page, "inbox-conversation-phone")
