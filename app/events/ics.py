"""Calendar files (.ics) for events, made with the icalendar package."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext

from app.core.http import absolute_url
from app.core.timeutil import utcnow
from app.events.models import Event
from app.events.text import plain_text

if TYPE_CHECKING:  # icalendar (~9 MB) is imported when a calendar file is made
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent


def event_url(event: Event) -> str:
    """The absolute address of the event page."""
    return absolute_url("events.detail", event_id=event.id, slug=event.slug)


def address(event: Event) -> str:
    """The venue and address on one line ("" for an event held online only)."""
    return ", ".join(
        part
        for part in (
            event.venue_name,
            event.street,
            " ".join(p for p in (event.postal_code, event.city) if p),
            event.country,
        )
        if part
    )


def place(event: Event) -> str:
    """The address, or "Online" for an online event (its meeting link is for confirmed
    registrations: the ticket e-mail and page, never the public pages or calendar)."""
    return address(event) or (gettext("Online") if event.online_url else "")


def _calendar() -> Calendar:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", f"-//{current_app.config['ORGANISATION_NAME']}//Felag//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    return calendar


def _item(event: Event, host: str) -> CalendarEvent:
    from icalendar import Event as CalendarEvent

    item = CalendarEvent()
    item.add("uid", f"event-{event.id}@{host}")
    item.add("dtstamp", utcnow())
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.title)
    url = event_url(event)
    description = "\n\n".join(p for p in (event.summary, plain_text(event.description_html)) if p)
    item.add("description", f"{description}\n\n{url}".strip())
    location = place(event)
    if location:
        item.add("location", location)
    item.add("url", url)
    item.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    item.add("sequence", int(event.updated_at.timestamp()) if event.updated_at else 0)
    return item


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "felag"


def calendar_bytes(event: Event) -> bytes:
    """A VCALENDAR with one VEVENT; a cancelled event says so (STATUS:CANCELLED)."""
    calendar = _calendar()
    calendar.add_component(_item(event, _host()))
    return calendar.to_ical()


def feed_bytes(events: list[Event]) -> bytes:
    """One subscribable calendar of many events (the same UIDs as their single .ics files, so
    a calendar app updates an event it already holds)."""
    calendar = _calendar()
    calendar.add("x-wr-calname", current_app.config["ORGANISATION_NAME"])
    # How often calendar apps should look again (RFC 7986 and the older Apple/Google name).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    host = _host()
    for event in events:
        calendar.add_component(_item(event, host))
    return calendar.to_ical()
