"""The door's full-screen result on a phone: Escape or Enter closes it, nothing hidden under it
is reachable by Tab, and the code field keeps taking a scanner's input."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import PASSWORD


def test_escape_or_enter_closes_the_result_and_tab_stays_out_from_under_it(app, phone_page):
    expect.set_options(timeout=15_000)
    with app.app_context():
        make_user("door@example.org", name="Door Volunteer", roles=["door"])
        event = make_event("Winter party", days_ahead=0)
        make_registration(event, make_user(name="Guest One"))
        db.session.commit()
        event_id = event.id
    page = phone_page
    page.goto("/auth/login")
    page.locator("#email").fill("door@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/account")
    page.goto(f"/door/{event_id}")
    result = page.locator("#door-result")

    page.locator("#door-code").fill("not-a-ticket")
    page.locator("#door-code").press("Enter")
    expect(result).to_be_visible()
    for hidden in ("#door-camera-toggle", "#door-search", "nav.navbar a", "#door-hold"):
        assert page.locator(hidden).first.evaluate("e => e.closest('[inert]') !== null"), hidden
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") in ("door-code", "door-result", "")
    page.keyboard.press("Escape")
    expect(result).to_be_hidden()
    assert not page.locator("#door-camera-toggle").evaluate("e => e.closest('[inert]') !== null")

    page.locator("#door-code").fill("still-not-a-ticket")
    page.locator("#door-code").press("Enter")
    expect(result).to_be_visible()
    page.locator("#door-code").press("Enter")  # Enter with nothing typed closes it
    expect(result).to_be_hidden()
    expect(page.locator("#door-code")).to_be_focused()
    expect.set_options(timeout=5_000)
