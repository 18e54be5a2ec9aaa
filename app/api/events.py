"""Events for apps: the list, one event, and registering or cancelling (any signed-in user).

Registration goes through the same service as the web page (app/events/registrations.py), so
the seat count, the waiting list and their race guards are the same.
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import load_only

from app.api.auth import token_required
from app.api.event_schemas import (
    CancelledSchema,
    EventDetailSchema,
    EventListArgs,
    EventSchema,
    RegisterRequest,
    RegistrationAnswerSchema,
)
from app.api.routes import bp
from app.api.schemas import page, page_of
from app.api.spec import errors
from app.auth.models import User
from app.core.errors import DomainError, NotFound
from app.core.jobs import commit
from app.core.security import has_role
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.core.timeutil import utcnow
from app.events import eligibility, registrations, roster
from app.events.eligibility import Refused
from app.events.models import Event, Registration
from app.extensions import db

# What the list shows (EventSchema reads these and nothing else).
LIST_COLUMNS = (
    Event.id, Event.title, Event.slug, Event.status, Event.summary, Event.starts_at,
    Event.ends_at, Event.venue_name, Event.street, Event.postal_code, Event.city, Event.country,
    Event.online_url, Event.capacity, Event.confirmed_count, Event.waiting_list_enabled,
    Event.members_only, Event.registration_opens_at, Event.registration_closes_at,
)  # fmt: skip


class RegistrationRefused(DomainError):
    """A registration the event does not allow now: 422 with the reason as the code."""

    status = 422

    def __init__(self, refused: Refused):
        super().__init__(refused.message, field=refused.field)
        self.code = refused.code


def caller_user() -> User:
    """The token's user as a full account (services need its e-mail, language, membership)."""
    user = db.session.get(User, g.api_user.id)
    if user is None:  # closed between the token check and now
        raise NotFound(_("No such user."))
    return user


def visible_event(event_id: int) -> Event:
    """A published or cancelled event; drafts for organisers only."""
    event = db.session.get(Event, event_id)
    if event is None or (event.status == "draft" and not has_role(g.api_user, "organiser")):
        raise NotFound(_("There is no such event."))
    return event


def _my_registration(registration: Registration | None) -> dict | None:
    if registration is None:
        return None
    return {
        "id": registration.id,
        "state": registration.state,
        "position": roster.waiting_position(registration),
        "ticket_code": registration.ticket_code if registration.state == "confirmed" else None,
    }


@bp.get("/events", tags=["events"])
@token_required()
@bp.arguments(EventListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(EventSchema))
def events_list(limit: int, offset: int, from_=None, to=None, q: str | None = None):
    """Published events, soonest first: upcoming by default (?from= to look elsewhere)."""
    stmt = select(Event).where(Event.status == "published", Event.ends_at > (from_ or utcnow()))
    if to is not None:
        stmt = stmt.where(Event.starts_at < to)
    if q and q.strip():
        like = contains_pattern(q.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(Event.title).like(like, escape=LIKE_ESCAPE),
                func.lower(Event.summary).like(like, escape=LIKE_ESCAPE),
                func.lower(Event.city).like(like, escape=LIKE_ESCAPE),
            )
        )
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(
        stmt.order_by(Event.starts_at, Event.id)
        .limit(limit)
        .offset(offset)
        .options(load_only(*LIST_COLUMNS))  # not the description, keys or images
    ).all()
    return page(rows, count, limit, offset)


class EventDetail:
    """An event with what its detail adds, read by EventDetailSchema as one object."""

    def __init__(self, event: Event, **extra):
        self._event = event
        self.__dict__.update(extra)

    def __getattr__(self, name: str):
        return getattr(self._event, name)


def event_detail(event: Event, user) -> EventDetail:
    """The event with its terms, the caller's registration and what stops them registering."""
    terms = event.current_terms
    return EventDetail(
        event,
        terms=terms.text if terms is not None and terms.text.strip() else None,
        my_registration=_my_registration(roster.registration_for(event.id, user)),
        problem=eligibility.window_problem(event) or eligibility.user_problem(event, user),
    )


@bp.get("/events/<int:event_id>", tags=["events"])
@token_required()
@errors(404)
@bp.response(200, EventDetailSchema)
def event_get(event_id: int):
    """One event: seats left, the terms, and my registration."""
    return event_detail(visible_event(event_id), caller_user())


@bp.post("/events/<int:event_id>/registration", tags=["events"])
@token_required()
@errors(404, 409)
@bp.arguments(RegisterRequest)
@bp.response(201, RegistrationAnswerSchema, description="Confirmed, or waiting with a position")
def event_register(data: dict, event_id: int):
    """Register for the event: confirmed while seats remain, else on the waiting list.

    409 `already_registered`; 422 with the reason as the code: `full` (no waiting list),
    `closed`, `not_open`, `cancelled`, `members_only`, `not_verified`, or `invalid` terms or
    answers.
    """
    event = visible_event(event_id)
    user = caller_user()
    try:
        registration = registrations.register(
            event.id, user, data["accept_terms"], answers=data.get("answers")
        )
    except Refused as exc:
        db.session.rollback()
        if exc.code == "already_registered":
            raise
        raise RegistrationRefused(exc) from None
    except DomainError:  # invalid answers name each one (answers.<question id>)
        db.session.rollback()
        raise
    commit()
    # The place in the queue as committed rows show it (read after the commit, so people who
    # joined at the same moment and committed first are counted).
    return {
        "id": registration.id,
        "event_id": event.id,
        "state": registration.state,
        "position": roster.waiting_position(registration),
        "ticket_code": registration.ticket_code,
    }


@bp.delete("/events/<int:event_id>/registration", tags=["events"])
@token_required()
@errors(404, 409)
@bp.response(200, CancelledSchema)
def event_unregister(event_id: int):
    """Cancel my registration; a freed seat goes to the first person waiting."""
    event = visible_event(event_id)
    try:
        registration = registrations.unregister(event.id, caller_user())
    except DomainError:
        db.session.rollback()
        raise
    answer = {"id": registration.id, "event_id": event.id, "state": registration.state}
    commit()
    return answer
