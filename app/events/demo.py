"""Demo events: past and upcoming, one nearly full, one with a waiting list, and a draft."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app.core.text import slugify
from app.core.timeutil import local_date, organisation_tz, utcnow
from app.events.models import Event, Registration, RegistrationTerms
from app.events.text import clean_html
from app.events.tickets import make_code, new_key_pair
from app.extensions import db

TERMS = "Tilmelding er bindende 48 timer før. / Skráning er bindandi 48 klst. fyrir viðburð."

EVENTS = [
    # title, days from today, start hour, hours, capacity, confirmed, waiting, extra
    ("Generalforsamling 2025", -60, 19, 3, 80, 41, 0, {"members_only": True}),
    ("Jólabókaflóð: upplestur", -10, 20, 2, 40, 38, 0, {"city": "Reykjavík"}),
    ("Intro til Python for foreningen", 5, 17, 3, 30, 29, 0, {}),
    ("Sommerfest i gården", 12, 15, 6, 25, 25, 4, {}),
    ("Fyrirlestur: Þjóðmál og lýðræði", 20, 20, 2, None, 6, 0,
     {"city": "", "venue_name": "", "online_url": "https://meet.example.org/felag"}),
    ("Bestyrelsesmøde (kun medlemmer)", 30, 18, 2, 15, 3, 0, {"members_only": True}),
]  # fmt: skip


def _at(days: int, hour: int) -> datetime:
    tz = organisation_tz()
    day = local_date(utcnow() + timedelta(days=days))
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def seed_events(organiser, people: list) -> list[Event]:
    """Add the demo events with registrations for the demo members."""
    made = []
    for title, days, hour, hours, capacity, confirmed, waiting, extra in EVENTS:
        private, public = new_key_pair()
        starts = _at(days, hour)
        event = Event(
            title=title,
            slug=slugify(title, fallback="event"),
            summary=f"{title} — {current_app.config['ORGANISATION_NAME']}",
            description_html=clean_html(
                "Alle er velkomne. Kom og vær med!\n\nAllir velkomnir. Komdu og vertu með!"
            ),
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            venue_name=extra.get("venue_name", "Folkets Hus"),
            street="Stengade 50" if extra.get("city", "København") == "København" else "",
            postal_code="2200" if extra.get("city", "København") == "København" else "",
            city=extra.get("city", "København"),
            country="Danmark" if extra.get("city", "København") == "København" else "Ísland",
            online_url=extra.get("online_url", ""),
            capacity=capacity,
            confirmed_count=0,
            members_only=extra.get("members_only", False),
            waiting_list_enabled=True,
            status="published",
            published_at=utcnow(),
            signing_key_encrypted=private,
            public_key=public,
            created_by_id=organiser.id if organiser else None,
        )
        event.terms.append(RegistrationTerms(version=1, text=TERMS))
        db.session.add(event)
        db.session.flush()
        for n, person in enumerate(people[: confirmed + waiting]):
            state = "confirmed" if n < confirmed else "waiting"
            registration = Registration(
                event_id=event.id,
                user_id=person.id,
                name=person.name,
                email=person.email,
                state=state,
                terms_id=event.terms[0].id,
                terms_accepted_at=utcnow(),
            )
            if state == "confirmed":
                registration.confirmed_at = utcnow()
                registration.ticket_code = make_code(event.id, event.signing_key_encrypted)
                if days < 0 and n % 5:
                    registration.checked_in_at = starts + timedelta(minutes=n % 30)
            else:
                registration.waiting_since = utcnow() + timedelta(seconds=n)
            db.session.add(registration)
        event.confirmed_count = min(confirmed, len(people))
        made.append(event)
    draft_key, draft_public = new_key_pair()
    starts = _at(45, 10)
    db.session.add(
        Event(
            title="Udkast: Sommerlejr",
            slug="udkast-sommerlejr",
            starts_at=starts,
            ends_at=starts + timedelta(days=2),
            venue_name="Spejderhytten",
            city="Roskilde",
            capacity=40,
            confirmed_count=0,
            status="draft",
            signing_key_encrypted=draft_key,
            public_key=draft_public,
        )
    )
    db.session.flush()
    return made
