"""The door scanner in headless Chromium: every result on a phone (with screenshots), undo,
search and check-in by hand, and scanning offline then syncing when the network returns."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.checkin.models import Scan
from app.checkin.redeem import Scanner, redeem
from app.events.models import Registration
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import PASSWORD, screenshot


@pytest.fixture(autouse=True)
def _fresh_key_cache(app):
    """Ids restart after each live test's truncation: start with an empty key cache."""
    app.extensions.pop("checkin_public_keys", None)
    yield


@pytest.fixture(autouse=True)
def _patient_expect():
    """The test machine is shared and busy: wait up to 15 s for what the page should show."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def _data(app, guests=("Bjarni Guest", "Dóra Guest", "Einar Guest")):
    """A volunteer, an event with confirmed guests, and tickets in every other state."""
    with app.app_context():
        volunteer = make_user("anna@example.org", name="Anna Door", roles=["door"])
        event = make_event("Spring party", days_ahead=0)
        other = make_event("Autumn party", days_ahead=30)
        confirmed = [
            make_registration(event, make_user(name=name, email=f"guest{i}@example.org"))
            for i, name in enumerate(guests)
        ]
        cancelled = make_registration(event, make_user(name="Cancelled Person"))
        cancelled.state = "cancelled"
        waiting = make_registration(event, make_user(name="Waiting Person"))
        waiting.state = "waiting"
        elsewhere = make_registration(other, make_user(name="Other Event Person"))
        db.session.commit()
        return {
            "volunteer_id": volunteer.id,
            "event_id": event.id,
            "codes": [r.ticket_code for r in confirmed],
            "cancelled": cancelled.ticket_code,
            "waiting": waiting.ticket_code,
            "elsewhere": elsewhere.ticket_code,
        }


def _forge(code: str) -> str:
    head, signature = code.rsplit(".", 1)
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def _open_scanner(page, event_id: int):
    page.goto("/auth/login")
    page.locator("#email").fill("anna@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")
    page.goto(f"/door/{event_id}")
    expect(page.locator("#door[data-ready='true']")).to_be_attached()
    # The offline bundle is in the browser once the page has loaded it.
    page.wait_for_function(f"() => localStorage.getItem('felag-door-bundle-{event_id}') !== null")


def _scan(page, code: str):
    """Type the code into the scanner field and press Enter, like a handheld scanner."""
    field = page.locator("#door-code")
    expect(field).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _expect_result(page, status: str, text: str | re.Pattern):
    result = page.locator(f"#door-result[data-status='{status}']")
    expect(result).to_be_visible()
    expect(result.locator(".door-result-title")).to_have_text(text)
    return result


def _dismiss(page):
    """Tap the result away (it would also clear itself)."""
    if page.locator("#door-result").is_visible():
        page.locator("#door-result").click()
    expect(page.locator("#door-result")).to_be_hidden()


def _checked_in(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.name, Registration.checked_in_by_id).where(
                Registration.checked_in_at.is_not(None)
            )
        ).all()
        return {name: by for name, by in rows}


def test_every_result_on_a_phone(app, phone_page):
    data = _data(app)
    page = phone_page
    _open_scanner(page, data["event_id"])
    screenshot(page, "door-scanner-phone")
    expect(page.locator("#door-checked-in")).to_have_text("0")
    expect(page.locator("#door-confirmed")).to_have_text("3")

    # Without a tap, a result clears itself and the field is ready for the next scan.
    _scan(page, data["codes"][1])
    _expect_result(page, "ok", "Welcome, Dóra Guest")
    expect(page.locator("#door-result")).to_be_hidden()
    expect(page.locator("#door-code")).to_be_focused()

    # Keep results on screen for the screenshots.
    page.locator("#door-hold").check()
    page.locator("#door-code").focus()

    _scan(page, data["codes"][0])
    _expect_result(page, "ok", "Welcome, Bjarni Guest")
    expect(page.locator("#door-checked-in")).to_have_text("2")
    screenshot(page, "door-result-green-phone")

    _scan(page, data["codes"][0])
    _expect_result(
        page, "already_checked_in", re.compile(r"^Already checked in at \d\d:\d\d by Anna Door$")
    )
    screenshot(page, "door-result-amber-phone")

    _scan(page, data["elsewhere"])
    _expect_result(page, "wrong_event", "Not a ticket for this event")
    screenshot(page, "door-result-red-phone")

    _scan(page, data["cancelled"])
    _expect_result(page, "cancelled", "Registration cancelled")
    _scan(page, data["waiting"])
    _expect_result(page, "not_confirmed", "Not confirmed (waiting list)")
    _scan(page, _forge(data["codes"][2]))
    _expect_result(page, "unknown", "Unknown or forged ticket")
    screenshot(page, "door-result-forged-phone")
    _scan(page, f"{app.config['BASE_URL']}/t/{data['codes'][2]}")  # the QR's ticket URL
    _expect_result(page, "ok", "Welcome, Einar Guest")

    # Undo the last check-in.
    page.locator("#door-result").click()
    expect(page.locator("#door-result")).to_be_hidden()
    undo = page.locator("#door-undo")
    expect(undo).to_have_text("Undo check-in of Einar Guest")
    undo.click()
    _expect_result(page, "undone", "Check-in of Einar Guest undone")
    expect(page.locator("#door-checked-in")).to_have_text("2")
    page.locator("#door-result").click()

    assert _checked_in(app) == {
        "Bjarni Guest": data["volunteer_id"],
        "Dóra Guest": data["volunteer_id"],
    }
    with app.app_context():
        results = Counter(db.session.scalars(sa.select(Scan.result)).all())
    assert results == {
        "ok": 3,
        "already_checked_in": 1,
        "wrong_event": 1,
        "cancelled": 1,
        "not_confirmed": 1,
        "unknown": 1,
        "undone": 1,
    }


def test_search_by_name_and_check_in_by_hand(app, page):
    data = _data(app)
    _open_scanner(page, data["event_id"])
    page.locator("#door-search").fill("einar")
    row = page.locator("#door-search-results li", has_text="Einar Guest")
    expect(row).to_contain_text("Confirmed")
    expect(page.locator("#door-search-results")).not_to_contain_text("example.org")
    row.get_by_role("button", name="Check in").click()
    _expect_result(page, "ok", "Welcome, Einar Guest")
    expect(page.locator("#door-checked-in")).to_have_text("1")
    screenshot(page, "door-scanner-desktop")
    page.locator("#door-result").click()
    page.locator("#door-search").fill("nobody-here")
    expect(page.locator("#door-search-results")).to_have_text("No one found.")
    page.locator("#door-search").fill("einar")
    expect(page.locator("#door-search-results li", has_text="Einar Guest")).to_contain_text(
        re.compile(r"Checked in at \d\d:\d\d")
    )
    assert _checked_in(app) == {"Einar Guest": data["volunteer_id"]}


def test_offline_scans_are_checked_on_the_device_and_synced_later(app, page):
    data = _data(app)
    _open_scanner(page, data["event_id"])
    network = page.locator("#door-network")
    expect(network).to_have_attribute("data-state", "online")

    page.context.set_offline(True)
    expect(network).to_have_attribute("data-state", "offline")
    expect(network).to_have_text("Offline")

    _scan(page, data["codes"][0])
    _expect_result(page, "ok", "Welcome, Bjarni Guest")
    _scan(page, _forge(data["codes"][1]))
    _expect_result(page, "unknown", "Unknown or forged ticket")
    _scan(page, data["codes"][1])
    _expect_result(page, "ok", "Welcome, Dóra Guest")
    # A second scan of the same ticket on this device is caught offline too.
    _scan(page, data["codes"][0])
    _expect_result(
        page, "already_checked_in", re.compile(r"^Already checked in on this device at \d\d:\d\d$")
    )
    expect(page.locator("#door-pending")).to_have_text("4 scans waiting to sync")
    _dismiss(page)
    screenshot(page, "door-offline-desktop")
    assert _checked_in(app) == {}  # nothing reached the server yet

    page.context.set_offline(False)
    expect(network).to_have_attribute("data-state", "online")
    expect(page.locator("#door-pending")).to_have_attribute("data-count", "0")
    expect(page.locator("#door-checked-in")).to_have_text("2")

    assert _checked_in(app) == {
        "Bjarni Guest": data["volunteer_id"],
        "Dóra Guest": data["volunteer_id"],
    }
    with app.app_context():
        rows = db.session.execute(
            sa.select(Scan.source, Scan.result, Scan.offline_accepted).order_by(Scan.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("offline", "ok", True),
        ("offline", "unknown", False),
        ("offline", "ok", True),
        ("offline", "already_checked_in", False),
    ]
    expect(page.locator("#door-conflicts-section")).to_be_hidden()

    # The last check-in, synced, can now be undone like an online one.
    page.locator("#door-undo").click()
    _expect_result(page, "undone", "Check-in of Dóra Guest undone")
    assert _checked_in(app) == {"Bjarni Guest": data["volunteer_id"]}


def test_a_ticket_checked_in_elsewhere_while_offline_shows_as_a_conflict(app, page):
    data = _data(app)
    _open_scanner(page, data["event_id"])
    page.context.set_offline(True)
    expect(page.locator("#door-network")).to_have_attribute("data-state", "offline")

    # Meanwhile a colleague with a network checks the same ticket in.
    with app.app_context():
        colleague = make_user(name="Colleague Carl", roles=["door"])
        db.session.commit()
        scanner = Scanner(colleague.id, colleague.name, "door d-other", "door")
        redeem(data["event_id"], data["codes"][2], "colleague-1", scanner)
        db.session.commit()

    _scan(page, data["codes"][2])
    _expect_result(page, "ok", "Welcome, Einar Guest")  # this device cannot know yet
    page.context.set_offline(False)
    expect(page.locator("#door-pending")).to_have_attribute("data-count", "0")
    conflicts = page.locator("#door-conflicts")
    expect(conflicts).to_contain_text(
        re.compile(
            r"Einar Guest was let in offline but had already been checked in at "
            r"\d\d:\d\d by Colleague Carl"
        )
    )
    _dismiss(page)
    expect(page.locator("#door-undo")).to_be_hidden()  # nothing of this device's to undo
    screenshot(page, "door-conflict-desktop")
    with app.app_context():
        row = db.session.scalar(sa.select(Scan).where(Scan.source == "offline"))
        assert row.is_conflict and row.result == "already_checked_in"


def test_the_scanner_reopens_offline_from_the_service_worker(app, page, live_server):
    data = _data(app)
    _open_scanner(page, data["event_id"])
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        """async () => {
            const page = await caches.match(location.pathname);
            const script = await caches.match('/static/js/door.js');
            return Boolean(page && script);
        }"""
    )
    page.context.set_offline(True)
    # Playwright's offline mode leaves the service worker's own fetches on the network
    # (microsoft/playwright#2311): the server goes away too, as it does for a phone offline.
    live_server.stop()
    page.reload()
    expect(page.locator("#door[data-ready='true']")).to_be_attached()
    expect(page.locator("#door-network")).to_have_attribute("data-state", "offline")
    _scan(page, data["codes"][0])
    _expect_result(page, "ok", "Welcome, Bjarni Guest")
    live_server.start()
    page.context.set_offline(False)
    expect(page.locator("#door-pending")).to_have_attribute("data-count", "0")
    assert _checked_in(app) == {"Bjarni Guest": data["volunteer_id"]}


def test_door_index_on_a_phone_and_the_staff_scan_log(app, phone_page, page):
    data = _data(app)
    with app.app_context():
        organiser = make_user(
            "olga@example.org", name="Olga Organiser", roles=["organiser", "door"]
        )
        db.session.commit()
        scanner = Scanner(data["volunteer_id"], "Anna Door", "door d-1", "door")
        redeem(data["event_id"], data["codes"][0], "nonce-1", scanner)
        redeem(data["event_id"], data["codes"][0], "nonce-2", scanner)
        redeem(data["event_id"], _forge(data["codes"][1]), "nonce-3", scanner)
        db.session.commit()
        assert organiser.id

    phone_page.goto("/auth/login")
    phone_page.locator("#email").fill("anna@example.org")
    phone_page.locator("#password").fill(PASSWORD)
    phone_page.locator("#submit").click()
    phone_page.wait_for_url("**/account")
    phone_page.goto("/door/")
    first = phone_page.locator(".door-events a").first
    expect(first).to_contain_text("Spring party")
    expect(first).to_contain_text("Today")
    screenshot(phone_page, "door-index-phone")
    first.click()
    expect(phone_page.locator("#door[data-ready='true']")).to_be_attached()

    page.goto("/auth/login")
    page.locator("#email").fill("olga@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")
    page.goto("/staff/")
    page.get_by_role("link", name="Check-in").click()
    page.get_by_role("link", name="Spring party").click()
    log = page.locator("table").last
    expect(log).to_contain_text("Unknown or forged ticket")
    expect(log).to_contain_text("Already checked in")
    page.locator("#q").fill("dóra")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".alert-success")).to_contain_text("Dóra Guest is checked in.")
    screenshot(page, "door-staff-log")
    assert _checked_in(app)["Dóra Guest"] == organiser.id
