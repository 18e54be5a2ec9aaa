"""In headless Chromium: the newsletter's progress bar follows the send (our JS polls the JSON
counts under the CSP), and the e-mail layout form is reachable from the staff newsletters page."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.members.consents import set_consents
from app.news import newsletters
from tests.factories import make_user
from tests.helpers import PASSWORD


def test_the_progress_bar_follows_the_send_without_a_reload(app, page, run_jobs, mailbox):
    with app.app_context():
        make_user("editor@example.org", roles=["editor"])
        for n in range(3):
            reader = make_user(f"reader{n}@example.org")
            set_consents(reader, {"newsletter": True}, actor_id=reader.id)
        newsletter = newsletters.save_newsletter(
            None,
            language="en",
            texts={"en": ("Winter news", "Snow **soon**.")},
            audience="newsletter",
        )
        db.session.commit()
        newsletter_id = newsletter.id
    errors: list[str] = []
    # Script errors and CSP refusals (the browser's own favicon 404 is neither).
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/auth/login")
    page.locator("#email").fill("editor@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")

    page.goto(f"/staff/newsletters/{newsletter_id}")
    expect(page.locator("#audience-count")).to_have_text("3")
    page.get_by_role("button", name="Send to 3 recipients").click()
    bar = page.locator("#newsletter-progress [data-bar]")
    expect(bar).to_have_text("0%")
    assert page.locator('[data-count="total"]').inner_text() == "3"

    run_jobs()  # the workers send while the page stays open
    expect(bar).to_have_text("100%", timeout=15000)
    expect(page.locator('[data-count="sent"]')).to_have_text("3")
    expect(page.locator('[data-count="queued"]')).to_have_text("0")
    assert len(mailbox.messages) == 3
    assert not errors, errors
