"""The page benchmark's data, as in issue 13's comparison: 44 users, 20 events with images (10
upcoming, 10 past), 354 registrations; one member with tickets signs in for `/account`.

Run with the app's environment set (FLASK_APP, DATABASE_URL, ...) after the schema exists:

    .venv/bin/python bench/pages_data.py          # prints "<event id> <slug>" of an upcoming event

Images are drawn with Pillow and go through the app's own path: stored in the public area, then
`resize_event_image` (the job an upload asks for) makes the list and detail sizes.
"""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MEMBER = ("pages-member@bench.local", "bench-pages-member-password")
USERS = 44
EVENTS = 20
REGISTRATIONS = 354


def _image(n: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 900), ((n * 47) % 256, (n * 91) % 256, (n * 13) % 256))
    draw = ImageDraw.Draw(image)
    for step in range(0, 1600, 100):
        draw.line((step, 0, 1600 - step, 900), fill=(255, 255, 255), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def add_page_data(app) -> tuple[int, str]:
    """Add the users, events, images and registrations; returns an upcoming event's id and slug."""
    from app.auth.models import User
    from app.auth.passwords import hash_password
    from app.core.storage import get_storage, new_key
    from app.core.text import slugify
    from app.core.timeutil import utcnow
    from app.events.models import Event, Registration, RegistrationTerms
    from app.events.tasks import resize_event_image
    from app.events.tickets import make_code, new_key_pair
    from app.extensions import db

    with app.app_context():
        shared = hash_password("bench-pages-not-used")
        member = User(
            email=MEMBER[0],
            name="Pages Member",
            password_hash=hash_password(MEMBER[1]),
            locale="da",
            email_verified_at=utcnow(),
        )
        people = [member] + [
            User(
                email=f"pages{n:03d}@bench.local",
                name=f"Pages Person {n}",
                password_hash=shared,
                locale=("da", "en", "is")[n % 3],
                email_verified_at=utcnow(),
            )
            for n in range(USERS - 1)
        ]
        db.session.add_all(people)
        db.session.flush()
        events = []
        for n in range(EVENTS):
            days = 3 + n * 4 if n < EVENTS // 2 else -(n - EVENTS // 2 + 1) * 9
            starts = utcnow() + timedelta(days=days)
            private, public = new_key_pair()
            title = f"Bench event {n + 1}: Python og data i foreningen"
            event = Event(
                title=title,
                slug=slugify(title, fallback="event"),
                summary="Et aftenmøde om data, Python og foreningens værktøjer.",
                description_html="<p>Alle er velkomne.</p>" * 6,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                venue_name="Folkets Hus",
                street="Stengade 50",
                postal_code="2200",
                city="København",
                country="Danmark",
                capacity=60,
                confirmed_count=0,
                waiting_list_enabled=True,
                status="published",
                published_at=utcnow(),
                signing_key_encrypted=private,
                public_key=public,
            )
            event.terms.append(RegistrationTerms(version=1, text="Tilmelding er bindende."))
            key = new_key("events", "jpg")
            get_storage().save("public", key, _image(n), "image/jpeg")
            event.image_key = key
            db.session.add(event)
            events.append(event)
        db.session.flush()
        made = 0
        for n, event in enumerate(events):
            count = REGISTRATIONS // EVENTS + (1 if n < REGISTRATIONS % EVENTS else 0)
            for person in people[:count]:
                db.session.add(
                    Registration(
                        event_id=event.id,
                        user_id=person.id,
                        name=person.name,
                        email=person.email,
                        state="confirmed",
                        confirmed_at=utcnow(),
                        terms_id=event.terms[0].id,
                        terms_accepted_at=utcnow(),
                        ticket_code=make_code(event.id, event.signing_key_encrypted),
                    )
                )
                made += 1
            event.confirmed_count = count
        db.session.commit()
        for event in events:
            resize_event_image(event.id, event.image_key)
        upcoming = events[0]
        return upcoming.id, upcoming.slug


if __name__ == "__main__":
    from app import create_app

    event_id, slug = add_page_data(create_app())
    print(event_id, slug)
