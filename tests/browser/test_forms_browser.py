"""In headless Chromium: an organiser builds registration questions for an event, a member
registers on a phone answering them (a wrong answer first), and the organiser sees the answers
in the registrations list, in the CSV export and on the results page with its chart."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from app.extensions import db
from app.forms.models import Response
from tests.factories import make_event, make_user
from tests.helpers import PASSWORD, screenshot


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def _add_question(page, kind, texts, options=None, required=False, low=None, high=None):
    page.locator("#add-question").click()
    page.locator("#kind").select_option(kind)
    for code, text in texts.items():
        page.locator(f"#text_{code}").fill(text)
        if options:
            page.locator(f"#options_{code}").fill("\n".join(options[code]))
    if required:
        page.locator("#required").check()
    if low is not None:
        page.locator("#min_value").fill(str(low))
        page.locator("#max_value").fill(str(high))
    page.locator("#save-question").click()
    page.wait_for_selector("#questions")


def test_build_attach_register_with_answers_and_export(app, page, phone_page):
    with app.app_context():
        make_user(email="mette@example.org", name="Mette Kjær", roles=["organiser"], locale="da")
        make_user(email="sigga@example.is", name="Sigríður Jónsdóttir", locale="is")
        event = make_event("Sumarhátíð", capacity=30)
        db.session.commit()
        event_id, event_path = event.id, f"/events/{event.id}/{event.slug}"
    # Script errors and CSP refusals; "failed to load" is the refused registration's 422 (meant)
    # and the browser's own favicon request.
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    for p in (page, phone_page):
        p.on("console", on_console)
        p.on("pageerror", lambda exc: errors.append(str(exc)))

    # The organiser makes the event's registration questions from its staff page.
    _login(page, "mette@example.org")
    page.goto(f"/staff/events/{event_id}/")
    page.locator("#registration-questions-link").click()
    page.locator("#make-questions").click()
    page.wait_for_selector("#form-title")
    _add_question(
        page,
        "one_choice",
        {"da": "Kost", "en": "Diet", "is": "Mataræði"},
        options={
            "da": ["Kød", "Fisk", "Vegansk"],
            "en": ["Meat", "Fish", "Vegan"],
            "is": ["Kjöt", "Fiskur", "Vegan"],
        },
        required=True,
    )
    _add_question(
        page, "number", {"da": "Alder", "en": "Age", "is": "Aldur"}, required=True, low=1, high=120
    )
    expect(page.locator("#questions > li")).to_have_count(2)
    page.locator("#open-form").click()
    expect(page.locator("#form-status")).to_have_attribute("data-status", "open")
    screenshot(page, "forms-builder")

    # A member registers on a phone, in Icelandic; a wrong age is refused beside the field.
    _login(phone_page, "sigga@example.is")
    phone_page.goto(event_path)
    expect(phone_page.locator("#registration-questions")).to_contain_text("Mataræði")
    # Nothing chosen for the diet: the summary names the question once, not each choice.
    phone_page.locator("form[action$='/register'] button[type=submit]").click()
    summary = phone_page.locator(".error-summary li")
    expect(summary.filter(has_text="Mataræði")).to_have_count(1)
    expect(summary.filter(has_text="Fiskur")).to_have_count(0)
    phone_page.get_by_label("Fiskur").check()
    age = phone_page.locator("#registration-questions input[inputmode=decimal]")
    age.fill("200")
    phone_page.locator("form[action$='/register'] button[type=submit]").click()
    expect(phone_page.locator("#answer-errors")).to_be_visible()
    expect(phone_page.locator(".invalid-feedback")).to_be_visible()
    screenshot(phone_page, "forms-registration-error-phone")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
    expect(phone_page.get_by_label("Fiskur")).to_be_checked()  # kept after the refusal
    age.fill("34")
    phone_page.locator("form[action$='/register'] button[type=submit]").click()
    phone_page.wait_for_selector(".alert-success")
    # Back on the event page the member reads their own answers, in Icelandic.
    expect(phone_page.locator("#my-answers")).to_contain_text("Fiskur")
    expect(phone_page.locator("#my-answers")).to_contain_text("34")
    phone_page.locator("#my-answers").scroll_into_view_if_needed()
    screenshot(phone_page, "forms-registration-my-answers-phone")

    # The organiser sees the answers in the list and in the CSV export.
    page.goto(f"/staff/events/{event_id}/")
    cell = page.locator(".registration-answers").first
    cell.locator("summary").click()
    expect(cell).to_contain_text("Fisk")
    expect(cell).to_contain_text("34")
    with page.expect_download() as download:
        page.locator("a[href*='registrations.csv']").first.click()
    body = open(download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["Kost"] == "Fisk" and cells["Alder"] == "34"
    assert cells["Navn"] == "Sigríður Jónsdóttir" or "Sigríður Jónsdóttir" in rows[1]

    # The results page draws a chart beside its table.
    page.goto(f"/staff/events/{event_id}/")
    page.locator("#registration-questions-link").click()
    page.locator("#form-results").click()
    expect(page.locator("canvas[data-form-chart]").first).to_be_visible()
    # Chart.js has drawn the chart (waits for the scripts at the end of the page to run).
    page.wait_for_function(
        "() => !!window.Chart && !!window.Chart.getChart("
        "document.querySelector('canvas[data-form-chart]'))"
    )
    screenshot(page, "forms-results")
    assert errors == []
