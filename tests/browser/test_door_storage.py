"""The door phone in headless Chromium: offline bundles of events that ended more than a day
ago are dropped, and logging out clears what the door kept on the device."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import PASSWORD


@pytest.fixture(autouse=True)
def _patient_expect():
    """The test machine is shared and busy: wait up to 15 s for what the page should show."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _stored_keys(page) -> list[str]:
    return page.evaluate("() => Object.keys(localStorage).sort()")


def _log_in(page):
    page.goto("/auth/login")
    page.locator("#email").fill("anna@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


@pytest.fixture
def door_event(app):
    with app.app_context():
        make_user("anna@example.org", name="Anna Door", roles=["door"])
        event = make_event("Spring party", days_ahead=0)
        db.session.commit()
        return event.id


def test_bundles_of_events_that_ended_over_a_day_ago_are_dropped(page, door_event):
    _log_in(page)
    page.goto("/door/")
    old_bundle = {
        "event_id": 900001,
        "public_key": "x",
        "fetched_at": _iso(timedelta(days=-3)),
        "ends_at": _iso(timedelta(days=-2)),
        "tickets": {"abc": {"name": "Old Guest", "state": "confirmed"}},
    }
    recent_bundle = {**old_bundle, "event_id": 900002, "ends_at": _iso(timedelta(hours=-20))}
    legacy_bundle = {**old_bundle, "event_id": 900003}
    del legacy_bundle["ends_at"]  # from before bundles carried an end time: fetched 3 days ago
    page.evaluate(
        """([old, recent, legacy]) => {
            localStorage.setItem('felag-door-bundle-900001', JSON.stringify(old));
            localStorage.setItem('felag-door-seen-900001', '{"abc": {"name": "Old Guest"}}');
            localStorage.setItem('felag-door-conflicts-900001', '[]');
            localStorage.setItem('felag-door-queue-900001', '[{"code": "c", "nonce": "n"}]');
            localStorage.setItem('felag-door-bundle-900002', JSON.stringify(recent));
            localStorage.setItem('felag-door-bundle-900003', JSON.stringify(legacy));
        }""",
        [old_bundle, recent_bundle, legacy_bundle],
    )

    page.goto(f"/door/{door_event}")
    expect(page.locator("#door[data-ready='true']")).to_be_attached()
    page.wait_for_function(f"() => localStorage.getItem('felag-door-bundle-{door_event}') !== null")

    keys = _stored_keys(page)
    assert "felag-door-bundle-900001" not in keys
    assert "felag-door-seen-900001" not in keys
    assert "felag-door-conflicts-900001" not in keys
    assert "felag-door-queue-900001" in keys  # unsent scans (codes only) are kept
    assert "felag-door-bundle-900002" in keys  # ended 20 hours ago: still kept
    assert "felag-door-bundle-900003" not in keys
    current = json.loads(
        page.evaluate(f"() => localStorage.getItem('felag-door-bundle-{door_event}')")
    )
    assert current["ends_at"]  # the current event's bundle carries its end time
    assert current["tickets"] == {}


def test_the_door_list_drops_old_bundles_too(page, door_event):
    _log_in(page)
    page.goto("/door/")
    page.evaluate(
        """(endsAt) => localStorage.setItem('felag-door-bundle-900004',
            JSON.stringify({event_id: 900004, ends_at: endsAt, tickets: {}}))""",
        _iso(timedelta(days=-2)),
    )
    page.reload()
    page.wait_for_function("() => localStorage.getItem('felag-door-bundle-900004') === null")


def test_logging_out_clears_the_door_data_on_the_device(page, door_event):
    _log_in(page)
    page.goto(f"/door/{door_event}")
    expect(page.locator("#door[data-ready='true']")).to_be_attached()
    page.wait_for_function(f"() => localStorage.getItem('felag-door-bundle-{door_event}') !== null")
    assert any(key.startswith("felag-door-") for key in _stored_keys(page))

    page.locator("form[action$='/auth/logout'] button").first.click()
    page.wait_for_url("**/")
    assert not [key for key in _stored_keys(page) if key.startswith("felag-door-")]


def test_logging_out_with_unsent_scans_asks_first(page, door_event):
    _log_in(page)
    page.goto(f"/door/{door_event}")
    expect(page.locator("#door[data-ready='true']")).to_be_attached()
    # Offline, so the door cannot send the queued scan on its own before the click (it would,
    # and then nothing is left to ask about: the test raced the door's sending).
    page.context.set_offline(True)
    page.evaluate(
        f"""() => localStorage.setItem('felag-door-queue-{door_event}',
            JSON.stringify([{{code: 'x', nonce: 'n1', scanned_at: new Date().toISOString()}}]))"""
    )
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("form[action$='/auth/logout'] button").first.click()
    expect(page.locator("#door")).to_be_visible()
    assert asked and "not been sent" in asked[0]
    assert page.url.endswith(f"/door/{door_event}")
    assert page.evaluate(f"() => localStorage.getItem('felag-door-queue-{door_event}')")
