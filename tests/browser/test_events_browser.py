"""In headless Chromium: an organiser creates and publishes an event, a member registers on a
phone, the ticket e-mail arrives over SMTP with a QR code that decodes to the ticket, and the
member finds the ticket in /tickets/. Screenshots of the pages on desktop and phone."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from app.core.timeutil import utcnow
from app.events.models import Event, Registration
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, decode_qr, run_jobs, screenshot


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def test_organiser_publishes_member_registers_and_gets_a_qr_ticket(app, page, phone_page, mailbox):
    with app.app_context():
        make_user(email="mette@example.org", name="Mette Kjær", roles=["organiser"], locale="da")
        make_user(email="sigga@example.is", name="Sigríður Jónsdóttir", locale="is")
        db.session.commit()

    # The organiser creates the event in the staff area and publishes it.
    _login(page, "mette@example.org")
    page.goto("/staff/events/new")
    tz = ZoneInfo(app.config["TIMEZONE"])
    starts = (utcnow() + timedelta(days=10)).astimezone(tz).replace(hour=19, minute=0)
    page.locator("#title").fill("Þorrablót í Kaupmannahöfn")
    page.locator("#summary").fill("Hákarl, brennivín og söngur.")
    # The description is a Markdown editor (EasyMDE): type into it as a person would.
    page.locator(".EasyMDEContainer .CodeMirror").click()
    page.keyboard.type("Velkomin öll!")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Takið með ykkur góða skapið.")
    page.locator("#starts_at").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#ends_at").fill((starts + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#venue_name").fill("Jónshús")
    page.locator("#street").fill("Øster Voldgade 12")
    page.locator("#postal_code").fill("1350")
    page.locator("#city").fill("København")
    page.locator("#capacity").fill("60")
    page.locator("#terms").fill("Skráning er bindandi.")
    # No image here: in tests /media/ redirects to moto's plain-http S3, which the CSP blocks
    # (production S3 is https). Uploads and their sizes are tested in test_events_staff.py.
    screenshot(page, "staff-event-form")
    page.locator("#submit").click()
    page.wait_for_url("**/staff/events/*/")
    page.locator("form[action$='/publish'] button").click()
    page.wait_for_selector("text=Þorrablót í Kaupmannahöfn")
    with app.app_context():
        event = db.session.scalar(db.select(Event))
        assert event.status == "published" and event.capacity == 60
        event_path = f"/events/{event.id}/{event.slug}"

    # A member registers on a phone.
    _login(phone_page, "sigga@example.is")
    phone_page.goto("/events/")
    assert phone_page.locator(".event-card").count() == 1
    screenshot(phone_page, "events-list-phone")
    phone_page.locator(".event-card a").first.click()
    phone_page.wait_for_url(f"**{event_path}")
    screenshot(phone_page, "event-page-phone")
    phone_page.locator("#accept_terms").check()
    phone_page.locator("form[action$='/register'] button[type=submit]").click()
    phone_page.wait_for_selector(".alert-success")

    # The ticket e-mail arrives over SMTP with a QR code that decodes to the ticket.
    run_jobs(app)
    [message] = mailbox.to("sigga@example.is")
    [qr_part] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    text = decode_qr(qr_part.get_payload(decode=True))
    with app.app_context():
        registration = db.session.scalar(db.select(Registration))
        code = registration.ticket_code
        assert registration.state == "confirmed"
    assert text == f"{app.config['BASE_URL']}/t/{code}"

    # The member sees the ticket in /tickets/, and the QR short link opens it.
    phone_page.goto("/tickets/")
    assert "Þorrablót í Kaupmannahöfn" in phone_page.locator("main").inner_text()
    phone_page.locator(f"a[href='/tickets/{code}']").click()
    expect(phone_page.locator("img.ticket-qr")).to_have_js_property("complete", True)
    assert phone_page.locator("img.ticket-qr").evaluate("img => img.naturalWidth") > 0
    screenshot(phone_page, "ticket-phone")
    phone_page.goto(text.replace(app.config["BASE_URL"], ""))
    assert phone_page.url.endswith(f"/tickets/{code}")

    # Desktop views of the same pages (the organiser may open any ticket).
    page.goto("/events/")
    screenshot(page, "events-list")
    page.goto(event_path)
    assert page.locator("meta[property='og:title']").get_attribute("content") == (
        "Þorrablót í Kaupmannahöfn"
    )
    screenshot(page, "event-page")
    page.goto(f"/tickets/{code}")
    expect(page.locator("img.ticket-qr")).to_have_js_property("complete", True)
    assert page.locator("img.ticket-qr").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "ticket")
    page.goto(f"/staff/events/{event.id}/")
    assert "Sigríður Jónsdóttir" in page.locator("table.registrations").inner_text()
    screenshot(page, "staff-event-registrations")
