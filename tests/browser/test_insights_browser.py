"""In headless Chromium: the statistics pages draw every chart with Chart.js, without script
errors or CSP refusals, beside its table, and fit a phone's screen."""

from __future__ import annotations

from datetime import timedelta

from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import PASSWORD, screenshot
from tests.members_helpers import make_member


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_load_state()


def _drawn_charts(page) -> list[bool]:
    """For each chart canvas: whether Chart.js drew a chart with data on it."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((c) => {
            const chart = window.Chart && window.Chart.getChart(c);
            return !!chart && chart.data.datasets.length > 0 && c.width > 0;
        })"""
    )


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    return problems


def test_member_statistics_draw_every_chart_in_danish(app, page):
    with app.app_context():
        make_user(email="sigga@example.is", roles=["membership"], locale="da")
        for n in range(6):
            make_member(region=("Hovedstaden", "Sjælland")[n % 2], gender="female")
        db.session.commit()
    _login(page, "sigga@example.is")
    problems = _watch(page)
    page.goto("/staff/stats/members")

    drawn = _drawn_charts(page)
    # Nine charts; group sizes has no groups to show, so it says so instead of drawing.
    assert len(drawn) == 8 and all(drawn), drawn
    assert page.locator("#chart-group-sizes [data-empty]").count() == 1
    assert page.locator('[data-chart-table="members-region"] tbody tr').count() == 2
    assert page.locator("h1").inner_text() in ("Member statistics", "Medlemsstatistik")
    assert problems == []
    screenshot(page, "insights-member-statistics")


def test_event_page_on_a_phone_while_the_door_is_open(app, phone_page):
    page = phone_page
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        make_user(email="mette@example.dk", roles=["organiser"], locale="da")
        event = make_event(
            "Sommerfest",
            starts_at=now - timedelta(minutes=20),
            ends_at=now + timedelta(hours=2),
        )
        for minutes in (-12, -3, -2, 4):
            registration = make_registration(event)
            registration.checked_in_at = event.starts_at + timedelta(minutes=minutes)
        db.session.commit()
        event_id = event.id
    _login(page, "mette@example.dk")
    problems = _watch(page)
    page.goto(f"/staff/stats/events/{event_id}")

    assert page.locator("[data-live-url]").count() == 1
    drawn = _drawn_charts(page)
    assert len(drawn) == 2 and all(drawn), drawn
    rows = page.locator('[data-chart-table="event-arrivals"] tbody tr')
    assert rows.count() == 4  # from 15 minutes before the start to 5 after, per 5 minutes
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert problems == []
    screenshot(page, "insights-event-arrivals-phone")
