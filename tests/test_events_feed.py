"""GET /events/feed.ics: every published upcoming event in one subscribable calendar."""

from icalendar import Calendar

from app.extensions import db
from tests.factories import make_event


def test_the_feed_holds_published_upcoming_events(client, ctx):
    soon = make_event("Soon", days_ahead=2)
    later = make_event("Later", days_ahead=20)
    cancelled = make_event("Called off", days_ahead=5, status="cancelled")
    make_event("Draft", days_ahead=3, status="draft")
    make_event("Over", days_ahead=-3)
    db.session.commit()
    answer = client.get("/events/feed.ics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.data)
    assert str(calendar["x-wr-calname"]) == "Félag"
    items = calendar.walk("VEVENT")
    assert [str(i["summary"]) for i in items] == ["Soon", "Called off", "Later"]
    by_title = {str(i["summary"]): i for i in items}
    # The same UID as the event's own .ics file: a calendar app updates what it holds.
    single = Calendar.from_ical(client.get(f"/events/{soon.id}/event.ics").data)
    assert str(by_title["Soon"]["uid"]) == str(single.walk("VEVENT")[0]["uid"])
    assert by_title["Soon"].decoded("dtstart") == soon.starts_at
    assert str(by_title["Called off"]["status"]) == "CANCELLED"
    assert str(by_title["Later"]["status"]) == "CONFIRMED"
    assert f"/events/{later.id}/" in str(by_title["Later"]["url"])
    assert cancelled.id  # listed above with its status


def test_an_empty_feed_is_still_a_calendar(client, ctx):
    calendar = Calendar.from_ical(client.get("/events/feed.ics").data)
    assert calendar.walk("VEVENT") == []
    assert str(calendar["version"]) == "2.0"


def test_the_events_page_links_the_feed(client, ctx):
    html = client.get("/events/").get_data(as_text=True)
    assert 'id="calendar-feed"' in html and "/events/feed.ics" in html
    assert 'rel="alternate" type="text/calendar"' in html
