"""Event editing for organisers: create, edit, publish, unpublish, cancel, duplicate.

Services validate, change the session and flush; routes commit. Registration logic (seats,
waiting list, tickets) lives in events/registrations.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.auth.services import check_image
from app.core import audit
from app.core.errors import Conflict, DomainError, NotFound
from app.core.jobs import enqueue_after_commit
from app.core.markdown import render_markdown
from app.core.storage import new_key, store
from app.core.text import LIKE_ESCAPE, contains_pattern, slugify
from app.core.timeutil import utcnow
from app.events.models import Event, EventMessage, EventSlug, Registration, RegistrationTerms
from app.events.registrations import fill_free_seats
from app.events.tasks import (
    notify_event_cancelled,
    queue_test_message,
    resize_event_image,
    send_event_message,
)
from app.events.text import plain_text
from app.events.tickets import new_key_pair
from app.extensions import db
from app.forms.services import copy_event_questions

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


@dataclass
class EventFields:
    """What an organiser enters for an event; times are timezone-aware."""

    title: str
    starts_at: datetime
    ends_at: datetime
    summary: str = ""
    description: str = ""
    venue_name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    online_url: str = ""
    capacity: int | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    members_only: bool = False
    waiting_list_enabled: bool = True
    terms: str = ""
    slug: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> EventFields:
        values = {f.name: getattr(event, f.name) for f in fields(cls) if hasattr(event, f.name)}
        values["description"] = event.description_markdown or plain_text(event.description_html)
        values["terms"] = event.current_terms.text if event.current_terms else ""
        return cls(**values)


EDITABLE = (
    "title", "summary", "starts_at", "ends_at", "venue_name", "street", "postal_code", "city",
    "country", "online_url", "capacity", "registration_opens_at", "registration_closes_at",
    "members_only", "waiting_list_enabled",
)  # fmt: skip


def _strip(data: EventFields) -> EventFields:
    for f in fields(data):
        value = getattr(data, f.name)
        if isinstance(value, str):
            setattr(data, f.name, value.strip())
    return data


def validate(data: EventFields, event: Event | None = None) -> None:
    """Raise a DomainError naming the field for the first problem found."""
    if not data.title:
        raise DomainError(_l("Give the event a title."), field="title")
    if len(data.title) > 200:
        raise DomainError(_l("The title is longer than 200 characters."), field="title")
    if len(data.summary) > 500:
        raise DomainError(_l("The summary is longer than 500 characters."), field="summary")
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    if data.ends_at <= data.starts_at:
        raise DomainError(_l("The event must end after it starts."), field="ends_at")
    if data.capacity is not None:
        if data.capacity < 1:
            raise DomainError(
                _l("The capacity must be at least 1, or empty for no limit."), field="capacity"
            )
        if event is not None and data.capacity < event.confirmed_count:
            raise DomainError(
                _l(
                    "%(count)d people are already confirmed; the capacity cannot be lower.",
                    count=event.confirmed_count,
                ),
                field="capacity",
            )
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if closes is not None and closes > data.ends_at:
        raise DomainError(
            _l("Registration must close before the event ends."), field="registration_closes_at"
        )
    if opens is not None and opens >= (closes or data.starts_at):
        raise DomainError(
            _l("Registration must open before it closes and before the event starts."),
            field="registration_opens_at",
        )
    if not data.venue_name and not data.online_url:
        raise DomainError(_l("Give a venue or an online link."), field="venue_name")
    if data.online_url and not data.online_url.lower().startswith(("https://", "http://")):
        raise DomainError(
            _l("The online link must start with https:// or http://."), field="online_url"
        )
    if data.slug is not None and data.slug and slugify(data.slug) != data.slug:
        raise DomainError(_l("Use only lowercase letters a-z, digits and hyphens."), field="slug")


def check_event_image(data: bytes) -> str:
    """The extension of a real image judged by its content (not its name)."""
    if len(data) > IMAGE_MAX_BYTES:
        raise DomainError(_l("The image is larger than 5 MB."), field="image")
    try:
        return check_image(data)
    except DomainError as exc:
        raise DomainError(exc.message, field="image") from None


def _upload_image(data: bytes) -> str:
    """Store a checked image; a rollback of the request removes it again (storage.store).

    Done before the event's row lock is taken: nobody waits on the lock while storage works.
    """
    extension = check_event_image(data)
    return store("public", new_key("events", extension), data, IMAGE_TYPES[extension])


def _use_image(event: Event, key: str) -> None:
    event.image_key = key
    event.image_list_key = None
    event.image_detail_key = None
    enqueue_after_commit(resize_event_image, event.id, key)


def _set_terms(event: Event, text: str) -> None:
    """A new version of the terms when the text changed; earlier versions stay."""
    current = event.current_terms
    if (current.text if current else "") == text:
        return
    version = (current.version if current else 0) + 1
    event.terms.append(RegistrationTerms(version=version, text=text))


def _snapshot(event: Event) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in (*EDITABLE, "status", "slug")}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def create_event(data: EventFields, actor, image: bytes | None = None) -> Event:
    """A new draft event with its own ticket-signing key."""
    data = _strip(data)
    validate(data)
    image_key = _upload_image(image) if image else None
    private, public = new_key_pair()
    event = Event(
        **{name: getattr(data, name) for name in EDITABLE},
        slug=data.slug or slugify(data.title, fallback="event"),
        description_markdown=data.description,
        description_html=str(render_markdown(data.description)),
        status="draft",
        confirmed_count=0,
        signing_key_encrypted=private,
        public_key=public,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(event)
    _set_terms(event, data.terms)
    db.session.flush()
    if image_key:
        _use_image(event, image_key)
    audit.record("event.created", "event", event.id, after=_snapshot(event))
    return event


def lock_event(event_id: int) -> Event:
    """The event, re-read with a row lock (PostgreSQL) so its seat count cannot move under us."""
    event = db.session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update(key_share=True)  # NO KEY UPDATE: see registrations.lock_event_row
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise NotFound(_l("There is no such event."))
    return event


def update_event(event: Event, data: EventFields, actor=None, image: bytes | None = None) -> Event:
    """Save an organiser's changes; a larger capacity promotes people from the waiting list."""
    data = _strip(data)
    validate(data, event)  # again under the lock below; refuses bad input before any upload
    image_key = _upload_image(image) if image else None
    event = lock_event(event.id)
    validate(data, event)
    before = _snapshot(event)
    old_slug = event.slug
    for name in EDITABLE:
        setattr(event, name, getattr(data, name))
    if data.description != (event.description_markdown or plain_text(event.description_html)):
        event.description_markdown = data.description
        event.description_html = str(render_markdown(data.description))
    _set_terms(event, data.terms)
    if data.slug:
        event.slug = data.slug
    elif event.status == "draft":
        event.slug = slugify(data.title, fallback="event")  # stable once published
    if event.slug != old_slug:
        known = db.session.scalar(
            select(EventSlug).where(EventSlug.event_id == event.id, EventSlug.slug == old_slug)
        )
        if known is None:
            db.session.add(EventSlug(event_id=event.id, slug=old_slug))
    db.session.flush()
    if image_key:
        _use_image(event, image_key)
    if event.status != "cancelled":
        fill_free_seats(event)
    after = _snapshot(event)
    if before != after:
        audit.record("event.updated", "event", event.id, before=before, after=after)
    return event


def publish(event: Event) -> None:
    """Make a draft visible and open for registration (within its registration window)."""
    if event.status == "cancelled":
        raise Conflict(_l("A cancelled event cannot be published again. Duplicate it instead."))
    if event.status == "published":
        return
    event.status = "published"
    event.published_at = event.published_at or utcnow()
    audit.record("event.published", "event", event.id)


def unpublish(event: Event) -> None:
    """Hide an event again (its registrations stay)."""
    if event.status != "published":
        raise Conflict(_l("Only a published event can be unpublished."))
    event.status = "draft"
    audit.record("event.unpublished", "event", event.id)


def cancel(event: Event) -> None:
    """Cancel the event and tell everyone registered, by e-mail in their own language."""
    if event.status == "cancelled":
        raise Conflict(_l("The event is already cancelled."))
    event.status = "cancelled"
    event.cancelled_at = utcnow()
    db.session.flush()
    audit.record("event.cancelled", "event", event.id)
    enqueue_after_commit(notify_event_cancelled, event.id, queue="mail")


def duplicate(event: Event, actor, title: str) -> Event:
    """A draft copy with the same details, terms and registration questions, a new signing key
    and no registrations (nor answers)."""
    data = EventFields.from_event(event)
    data.title = title[:200]
    data.slug = None
    data.registration_opens_at = data.registration_closes_at = None
    copy = create_event(data, actor)
    copy.image_key, copy.image_list_key = event.image_key, event.image_list_key
    copy.image_detail_key = event.image_detail_key
    copy.description_html = event.description_html
    copy.description_markdown = event.description_markdown
    copy_event_questions(event, copy, actor)
    audit.record("event.duplicated", "event", copy.id, before={"from": event.id})
    return copy


def _checked_message(subject: str, body: str) -> tuple[str, str]:
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise DomainError(_l("Write a subject."), field="subject")
    if len(subject) > 200:
        raise DomainError(_l("The subject is longer than 200 characters."), field="subject")
    if not body:
        raise DomainError(_l("Write a message."), field="body")
    return subject, body


def send_test_message(event: Event, subject: str, body: str, actor) -> None:
    """Queue the message to the organiser alone, as attendees will get it."""
    subject, body = _checked_message(subject, body)
    queue_test_message(event, subject, body, actor)


def message_attendees(event: Event, subject: str, body: str, actor) -> EventMessage:
    """Queue a message to every confirmed attendee; a job sends it in batches."""
    subject, body = _checked_message(subject, body)
    count = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == event.id, Registration.state == "confirmed"
        )
    )
    if not count:
        raise DomainError(_l("Nobody is confirmed for this event yet."), field="body")
    message = EventMessage(
        event_id=event.id,
        subject=subject,
        body=body,
        sent_by_id=getattr(actor, "id", None),
        recipient_count=count,
    )
    db.session.add(message)
    db.session.flush()
    audit.record("event.message_sent", "event", event.id, after={"message_id": message.id})
    enqueue_after_commit(send_event_message, message.id, queue="mail")
    return message


def search_events(query: str | None = None, status: str | None = None):
    """A select of events for the staff list, newest start first."""
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id.desc())
    if query:
        like = contains_pattern(query.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(Event.title).like(like, escape=LIKE_ESCAPE),
                func.lower(Event.city).like(like, escape=LIKE_ESCAPE),
            )
        )
    if status:
        stmt = stmt.where(Event.status == status)
    return stmt
