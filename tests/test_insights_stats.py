"""Staff statistics (/staff/stats/): the figures against known factory data, roles, the date
filter and its bad input, and the CSV/XLSX downloads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from app.core.timeutil import utcnow
from app.extensions import db
from app.insights.charts import BY_KEY
from app.insights.periods import Period
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login
from tests.members_helpers import make_member

FIRST_HALF = Period(date(2026, 1, 1), date(2026, 6, 30))


def _rows(key: str, scope=FIRST_HALF) -> dict:
    """The chart's rows before labelling: {key: [values]}."""
    return dict(BY_KEY[key].rows(scope))


def _client(app, *roles: str, locale: str = "en"):
    email = f"{'-'.join(roles)}-{locale}@example.org"
    make_user(email=email, roles=list(roles), locale=locale)
    db.session.commit()
    client = app.test_client()
    login(client, email)
    return client


@pytest.fixture
def members(ctx):
    """Six members with known joins, ends, places, ages, genders and consents."""
    people = []
    for n, (joined, region, municipality, year, gender) in enumerate(
        [
            (date(2025, 5, 1), "Norðurland", "Akureyri", 1990, "female"),
            (date(2026, 2, 3), "Höfuðborgarsvæðið", "Reykjavík", 1990, "female"),
            (date(2026, 2, 10), "Höfuðborgarsvæðið", "Reykjavík", 1991, "male"),
            (date(2026, 2, 28), "Höfuðborgarsvæðið", "Kópavogur", 1950, ""),
            (date(2026, 4, 15), "Suðurland", "Selfoss", 2010, "nonbinary"),
            (date(2026, 1, 20), "Suðurland", "Selfoss", None, "male"),
        ]
    ):
        member = make_member(
            full_name=f"Member {n}",
            region=region,
            municipality=municipality,
            gender=gender,
            consents={"reachable": True, "groupable": n % 2 == 0, "newsletter": n == 0},
        )
        member.joined_on = joined
        member.birth_year = year
        people.append(member)
    # The last one left in April: counted as left, and no longer active.
    people[5].status = "resigned"
    people[5].ended_on = date(2026, 4, 2)
    # Applications: one approved after 4 days, one rejected after 2, one still waiting.
    people[1].applied_at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    people[1].decided_at = datetime(2026, 3, 5, 12, tzinfo=UTC)
    rejected = make_member(status="rejected", full_name="Rejected")
    rejected.applied_at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    rejected.decided_at = datetime(2026, 3, 12, 12, tzinfo=UTC)
    waiting = make_member(status="applied", full_name="Waiting")
    waiting.applied_at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    test_record = make_member(full_name="Test", is_test=True, region="Suðurland")
    test_record.joined_on = date(2026, 2, 1)
    db.session.flush()
    return people


def test_members_joined_left_and_active_by_month(members):
    joined = _rows("members-joined")
    assert joined["2026-01"] == [1, 0, 1]
    assert joined["2026-02"] == [3, 0, 3]  # the test record is left out
    assert joined["2026-03"] == [0, 0, 0]
    assert joined["2026-04"] == [1, 1, 0]
    assert list(_rows("members-active").values()) == [[2], [5], [5], [5], [5], [5]]


def test_members_by_place_age_and_gender(members):
    assert _rows("members-region") == {
        "Höfuðborgarsvæðið": [3],
        "Norðurland": [1],
        "Suðurland": [1],
    }
    assert _rows("members-municipality")["Reykjavík"] == [2]
    # Age bands 0 (under 18) to 6 (65+), -1 for no year; ages reached in 2026; genders as the
    # columns (female, male, non-binary, other, not stated).
    ages = _rows("members-age-gender")
    assert ages[0] == [0, 0, 1, 0, 0]  # born 2010: non-binary
    assert ages[3] == [2, 1, 0, 0, 0]  # 35-44: two women born 1990, a man born 1991
    assert ages[6] == [0, 0, 0, 0, 1]  # born 1950, gender not stated
    assert ages[-1] == [0, 0, 0, 0, 0]  # the one without a year has left


def test_applications_approval_time_and_consents(members):
    assert _rows("applications")["2026-03"] == [1, 1, 0]
    assert _rows("applications")["2026-05"] == [0, 0, 1]
    assert _rows("approval-time")["2026-03"] == [2, 3.0]  # 4 and 2 days: 3 on average
    consents = _rows("consents")  # five active members: 0, 2 and 4 of them groupable
    assert consents == {
        "reachable": [5, 5, 100.0],
        "groupable": [3, 5, 60.0],
        "newsletter": [1, 5, 20.0],
    }


@pytest.fixture
def events(ctx):
    """A past event with check-ins, promotions and a known registration history."""
    # At noon, so that half a day before is still the same calendar day.
    noon = (utcnow() - timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    past = make_event(
        "Spring meeting", capacity=10, starts_at=noon, ends_at=noon + timedelta(hours=2)
    )
    starts = past.starts_at
    people = [make_registration(past) for _ in range(4)]
    for registration, minutes in zip(people[:3], (-7, 1, 12), strict=True):
        registration.checked_in_at = starts + timedelta(minutes=minutes)
    for registration, days in zip(people, (3, 3, 0.5, 10), strict=True):
        registration.created_at = starts - timedelta(days=days)
        registration.confirmed_at = registration.created_at + timedelta(seconds=1)
    # Came off the waiting list a day after registering.
    people[3].confirmed_at = people[3].created_at + timedelta(days=1)
    make_registration(past, state="waiting").created_at = starts + timedelta(hours=1)
    upcoming = make_event("Summer party", capacity=2, days_ahead=5)
    make_registration(upcoming)
    make_registration(upcoming, state="waiting")
    db.session.flush()
    return past, upcoming


def _recent() -> Period:
    today = utcnow().date()
    return Period(today - timedelta(days=30), today + timedelta(days=30))


def test_event_fill_promotions_and_no_shows(events):
    past, upcoming = events
    fill = _rows("event-fill", _recent())
    assert list(fill.values()) == [[4, 1, 10], [1, 1, 2]]
    assert [key[1] for key in fill] == ["Spring meeting", "Summer party"]
    assert list(_rows("waiting-list", _recent()).values()) == [[1, 1], [0, 1]]
    # The upcoming event has not ended.
    assert list(_rows("no-shows", _recent()).values()) == [[3, 1, 25.0]]


def test_registrations_per_day_and_arrivals_per_five_minutes(events):
    past, _upcoming = events
    per_day = BY_KEY["event-registrations-before"].rows(past)
    # Days before the start, from the earliest down to 0, then -1 for after the start.
    assert [day for day, _values in per_day] == [*range(10, -1, -1), -1]
    counts = dict(per_day)
    assert counts[10] == [1] and counts[3] == [2] and counts[0] == [1]
    assert counts[5] == [0] and counts[-1] == [1]
    arrivals = BY_KEY["event-arrivals"].rows(past)
    # 7 minutes early falls in the 5 minutes from 10 minutes before; gaps are filled with 0.
    assert arrivals == [(-2, [1]), (-1, [0]), (0, [1]), (1, [0]), (2, [1])]


def test_roles_see_their_own_parts(app, ctx):
    membership = _client(app, "membership")
    assert membership.get("/staff/stats/").headers["Location"].endswith("/staff/stats/members")
    assert membership.get("/staff/stats/members").status_code == 200
    assert membership.get("/staff/stats/events").status_code == 403
    assert membership.get("/staff/stats/no-shows.csv").status_code == 403
    organiser = _client(app, "organiser")
    assert organiser.get("/staff/stats/").headers["Location"].endswith("/staff/stats/events")
    assert organiser.get("/staff/stats/members").status_code == 403
    assert organiser.get("/staff/stats/members-region.csv").status_code == 403
    html = organiser.get("/staff/stats/events").get_data(as_text=True)
    assert 'id="chart-no-shows"' in html and 'id="chart-members-region"' not in html
    door = _client(app, "door")
    assert door.get("/staff/stats/").status_code == 403
    assert door.get("/staff/stats/members").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/staff/stats/members").status_code in (302, 401)


def test_page_shows_chart_table_and_downloads_in_the_readers_language(app, members):
    client = _client(app, "admin")
    url = "/staff/stats/members?from=2026-01-01&to=2026-06-30"

    html = client.get(url).get_data(as_text=True)

    table = re.search(r'<table[^>]*data-chart-table="members-joined".*?</table>', html, re.S)
    assert '<td class="text-end">3</td>' in table.group(0)
    assert 'data-chart=\'{"datasets"' in html or "data-chart='{" in html
    assert 'href="/staff/stats/members-joined.csv?from=2026-01-01&amp;to=2026-06-30"' in html
    danish = _client(app, "admin", locale="da").get(url).get_data(as_text=True)
    assert "feb. 2026" in danish
    assert "1. jan. 2026" in danish


def test_csv_and_xlsx_downloads_follow_the_filter(app, members):
    client = _client(app, "membership")

    response = client.get("/staff/stats/members-joined.csv?from=2026-02-01&to=2026-04-30")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "members-joined-2026-02-01-2026-04-30.csv" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines == [
        "Month,Joined,Left,Net change",
        "Feb 2026,3,0,3",
        "Mar 2026,0,0,0",
        "Apr 2026,1,1,0",
    ]
    xlsx = client.get("/staff/stats/members-region.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/staff/stats/members-region.pdf").status_code == 404
    assert client.get("/staff/stats/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "Give the date as YYYY-MM-DD."),
        ("to=yesterday", "Give the date as YYYY-MM-DD."),
        ("from=2026-05-01&to=2026-04-01", "The start date must be on or before the end date."),
        ("from=0001-01-01", "That date is out of range."),
        ("from=1900-01-01&to=2100-01-01", "Choose a period of at most 20 years."),
        ("from=2026-02-30", "Give the date as YYYY-MM-DD."),
        ("to=" + "9" * 300, "Give the date as YYYY-MM-DD."),
    ],
)
def test_bad_filter_input_is_a_clear_error_not_a_500(app, ctx, query, message):
    client = _client(app, "admin")
    for url in (f"/staff/stats/members?{query}", f"/staff/stats/events?{query}"):
        response = client.get(url)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    download = client.get(f"/staff/stats/applications.csv?{query}")
    assert download.status_code == 400 and message in download.get_data(as_text=True)


def test_one_events_page_and_its_live_refresh(app, events):
    past, upcoming = events
    client = _client(app, "organiser")

    html = client.get(f"/staff/stats/events/{past.id}").get_data(as_text=True)

    assert 'id="chart-event-arrivals"' in html and "data-live-url" not in html
    assert f"/staff/stats/event-arrivals.csv?event={past.id}" in html
    csv = client.get(f"/staff/stats/event-arrivals.csv?event={past.id}").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 6  # the heading and five 5-minute steps
    live = client.get(f"/staff/stats/events/{upcoming.id}/live").get_json()
    assert 'id="chart-event-registrations-before"' in live["html"]
    assert client.get("/staff/stats/events/999999").status_code == 404
    assert client.get("/staff/stats/event-arrivals.csv").status_code == 404


def test_the_door_open_page_refreshes_itself(app, ctx):
    now = utcnow().replace(microsecond=0)
    event = make_event(
        "Tonight",
        days_ahead=0,
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=2),
    )
    make_registration(event).checked_in_at = now - timedelta(minutes=3)
    client = _client(app, "organiser")

    html = client.get(f"/staff/stats/events/{event.id}").get_data(as_text=True)

    assert f'data-live-url="/staff/stats/events/{event.id}/live"' in html
    assert "data-live" in client.get(f"/staff/stats/events/{event.id}/live").get_json()["html"]
