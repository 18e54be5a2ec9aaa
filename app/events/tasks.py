"""Background jobs for events: tickets, image sizes, cancellation notices, attendee messages.

Each job loads its rows by id, checks they still make sense, is safe to run twice and commits
itself. E-mails go through the outbox (core/mail), whose unique key sends each one once.
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import User
from app.core.http import absolute_url
from app.core.images import make_display_sizes
from app.core.jobs import commit, enqueue_after_commit
from app.core.mail import (
    queue_mail,
    queue_mail_to_send_now,
    send_claimed,
    send_outbox_message,
)
from app.core.storage import get_storage, new_key
from app.core.timeutil import utcnow
from app.events.ics import address, calendar_bytes, event_url
from app.events.models import Event, EventMessage, Registration
from app.events.tickets import qr_png
from app.extensions import db

log = logging.getLogger(__name__)

BATCH = 200


def _event_context(event: Event) -> dict:
    """JSON-safe details of an event for e-mail templates (formatted in the recipient's locale)."""
    return {
        "event_title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "place": address(event),  # an online event's "Online" is written by the template
        "online_url": event.online_url,
        "event_url": event_url(event),
    }


def ticket_mail_key(registration: Registration) -> str:
    """One ticket e-mail per issued code: a job that runs twice sends it once."""
    digest = hashlib.sha256((registration.ticket_code or "").encode()).hexdigest()[:16]
    return f"ticket:{registration.id}:{digest}"


def locale_of(registration: Registration) -> str:
    """The language for e-mails to this person."""
    languages = current_app.config["LANGUAGES"]
    if registration.user is not None and registration.user.locale in languages:
        return registration.user.locale
    if registration.locale in languages:
        return registration.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _ticket_link(code: str) -> str:
    return absolute_url("tickets.show", code=code)


_STORE_QR = (  # built once (building an UPDATE costs about as much CPU as running it)
    update(Registration)
    .where(
        Registration.id == bindparam("registration_id"),
        Registration.ticket_code == bindparam("code"),
        Registration.ticket_qr_key.is_(None),
    )
    # The e-mail is queued in this same transaction, so it is marked here too.
    .values(
        ticket_qr_key=bindparam("key"),
        ticket_mailed_at=func.coalesce(
            Registration.ticket_mailed_at,
            bindparam("now", type_=Registration.__table__.c.ticket_mailed_at.type),
        ),
    )
    .returning(Registration.ticket_mailed_at)
    .execution_options(synchronize_session=False)
)


def _ensure_qr(registration: Registration, files: dict | None = None) -> str | None:
    """The stored QR image for the current code; made once even when two jobs race.

    The conditional UPDATE keeps the first image stored: a second run waits on the row, finds
    the key set, deletes its own file and uses the stored one. None when the code changed.
    An image made here is also put in `files` (by area and key), for the e-mail.
    """
    if registration.ticket_qr_key:
        return registration.ticket_qr_key
    code = registration.ticket_code
    storage = get_storage()
    key = new_key("tickets", "png")
    png = qr_png(code)
    storage.save("private", key, png, "image/png")
    stored = db.session.execute(
        _STORE_QR, {"registration_id": registration.id, "code": code, "key": key, "now": utcnow()}
    ).first()
    if stored is None:  # another run stored its image first (or the code changed): use that
        storage.delete("private", key)
        db.session.refresh(registration)
        return registration.ticket_qr_key if registration.ticket_code == code else None
    set_committed_value(registration, "ticket_qr_key", key)
    set_committed_value(registration, "ticket_mailed_at", stored[0])
    if files is not None:
        files["private", key] = png
    return key


# The .ics of the events this process mailed tickets for lately (about a kilobyte each), so a
# ticket e-mail does not read it back from storage each time.
_calendars: dict[str, bytes] = {}
CALENDARS_KEPT = 64


def _calendar_key(event: Event, files: dict | None = None) -> str:
    """The event's .ics in the private area, written once per version of the event; its bytes
    also go in `files` (by area and key), for the e-mail."""
    version = int(event.updated_at.timestamp()) if event.updated_at else 0
    key = f"calendars/event-{event.id}-{version}.ics"
    data = _calendars.get(key)
    if data is None:
        storage = get_storage()
        if storage.exists("private", key):
            data = storage.read("private", key)
        else:
            data = calendar_bytes(event)
            storage.save("private", key, data, "text/calendar")
        while len(_calendars) >= CALENDARS_KEPT:
            _calendars.pop(next(iter(_calendars)))
        _calendars[key] = data
    if files is not None:
        files["private", key] = data
    return key


def make_ticket(registration_id: int, promoted: bool = False, mail_key: str | None = None) -> str:
    """Make the QR image, store it privately and send the ticket e-mail (QR inline, .ics)."""
    registration = db.session.get(
        Registration,
        registration_id,
        # The user for their language; their roles (loaded with a user by default) not needed.
        options=[
            joinedload(Registration.event),
            joinedload(Registration.user).lazyload(User.roles),
        ],
    )
    if registration is None or registration.state != "confirmed" or not registration.ticket_code:
        return "stale"
    event = registration.event
    if event.status == "cancelled":
        return "cancelled"
    code = registration.ticket_code
    files: dict[tuple[str, str], bytes] = {}  # attachments made or read here: no read-back
    qr_key = _ensure_qr(registration, files)
    if not qr_key:
        return "stale"
    context = {
        **_event_context(event),
        "name": registration.name,
        "ticket_url": _ticket_link(code),
        "short_code": registration.short_code,
        "promoted": bool(promoted),
    }
    message_id, claimed = queue_mail_to_send_now(
        registration.email,
        "ticket",
        locale_of(registration),
        context,
        key=mail_key or ticket_mail_key(registration),
        user_id=registration.user_id,
        attachments=[
            {
                "area": "private",
                "key": qr_key,
                "filename": "ticket-qr.png",
                "content_type": "image/png",
                "cid": "qr",
            },
            {
                "area": "private",
                "key": _calendar_key(event, files),
                "filename": "event.ics",
                "content_type": "text/calendar",
            },
        ],
    )
    if registration.ticket_mailed_at is None:
        registration.ticket_mailed_at = utcnow()
    commit()
    # The outbox row is committed first (already claimed by this job when it is new), so the
    # e-mail goes once: a rerun of this job (SMTP down, the worker killed) finds the row by its
    # key and sends it only if it was not sent.
    if claimed is not None:
        return send_claimed(claimed, files)
    return send_outbox_message(message_id)


def resize_event_image(event_id: int, key: str) -> str:
    """List and detail sizes of an event image; the page uses the original until they exist."""
    event = db.session.get(Event, event_id)
    if event is None or event.image_key != key:
        return "stale"
    if event.image_list_key and event.image_detail_key:
        return "done"
    sizes = make_display_sizes(key, "events")
    # Read again from the database: the image may have been replaced while the sizes were made.
    event = db.session.get(Event, event_id, populate_existing=True)
    if event is None or event.image_key != key:
        return "stale"
    event.image_list_key, event.image_detail_key = sizes["list"], sizes["detail"]
    db.session.commit()
    return "made"


def _batch(event_id: int, states: tuple[str, ...], after_id: int) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.state.in_(states),
                Registration.id > after_id,
            )
            .order_by(Registration.id)
            .limit(BATCH)
        )
    )


def notify_event_cancelled(event_id: int, after_id: int = 0) -> str:
    """Tell everyone registered that the event is cancelled, one batch per run."""
    event = db.session.get(Event, event_id)
    if event is None or event.status != "cancelled":
        return "stale"
    batch = _batch(event_id, ("confirmed", "waiting"), after_id)
    for registration in batch:
        queue_mail(
            registration.email,
            "event_cancelled",
            locale_of(registration),
            {**_event_context(event), "name": registration.name},
            key=f"event-cancelled:{event.id}:{registration.id}",
            user_id=registration.user_id,
        )
    if len(batch) == BATCH:
        enqueue_after_commit(
            notify_event_cancelled,
            event_id,
            batch[-1].id,
            queue="mail",
            key=f"event-cancelled:{event_id}:{batch[-1].id}",  # a rerun asks for it once
        )
    commit()
    return f"queued {len(batch)}"


def send_event_message(message_id: int, after_id: int = 0) -> str:
    """Queue the organisers' message to confirmed attendees, one batch per run."""
    message = db.session.get(EventMessage, message_id)
    if message is None:
        return "stale"
    event = db.session.get(Event, message.event_id)
    batch = _batch(event.id, ("confirmed",), after_id)
    for registration in batch:
        queue_mail(
            registration.email,
            "event_message",
            locale_of(registration),
            {
                **_event_context(event),
                "name": registration.name,
                "subject_text": message.subject,
                "body": message.body,
            },
            key=f"event-message:{message.id}:{registration.id}",
            user_id=registration.user_id,
            # Not bulk: a message about an event someone registered for is not the newsletter,
            # so it carries no newsletter unsubscribe link or List-Unsubscribe header.
            batch_key=f"event-message:{message.id}",
        )
    if len(batch) == BATCH:
        enqueue_after_commit(
            send_event_message,
            message_id,
            batch[-1].id,
            queue="mail",
            key=f"event-message:{message_id}:{batch[-1].id}",  # a rerun asks for it once
        )
    commit()
    return f"queued {len(batch)}"


def queue_test_message(event: Event, subject: str, body: str, user) -> None:
    """The organisers' message, as attendees will get it, to the organiser alone (a test send)."""
    import uuid

    queue_mail(
        user.email,
        "event_message",
        user.locale
        if user.locale in current_app.config["LANGUAGES"]
        else current_app.config["BABEL_DEFAULT_LOCALE"],
        {**_event_context(event), "name": user.name, "subject_text": subject, "body": body},
        key=f"event-message-test:{uuid.uuid4().hex}",
        user_id=user.id,
    )
