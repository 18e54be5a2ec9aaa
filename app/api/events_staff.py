"""Events for organisers' apps: create, change (and publish or cancel), list registrations."""

from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.api.auth import token_required
from app.api.event_schemas import (
    EventDetailSchema,
    EventPatch,
    EventWrite,
    RegistrationListArgs,
    RegistrationSchema,
)
from app.api.events import caller_user, event_detail
from app.api.routes import bp
from app.api.schemas import page, page_of, patch_body
from app.api.spec import errors
from app.core.errors import DomainError, NotFound
from app.core.jobs import commit
from app.events import services
from app.events.models import Event, Registration
from app.extensions import db

STATUS_CHANGES = {
    "published": services.publish,
    "draft": services.unpublish,
    "cancelled": services.cancel,
}


def _event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(_("There is no such event."))
    return event


@bp.post("/events", tags=["events (organisers)"])
@token_required("organiser")
@bp.arguments(EventWrite)
@bp.response(201, EventDetailSchema, description="The new event, a draft")
def event_create(data: dict):
    """Create an event (a draft; PATCH it with status published to open it)."""
    user = caller_user()
    try:
        event = services.create_event(services.EventFields(**data), user)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return event_detail(event, user)


@bp.patch("/events/<int:event_id>", tags=["events (organisers)"])
@token_required("organiser")
@errors(404, 409)
@bp.arguments(patch_body(EventPatch))
@bp.response(200, EventDetailSchema)
def event_patch(data: dict, event_id: int):
    """Change an event: only the fields sent. A larger capacity confirms people waiting."""
    event = _event(event_id)
    user = caller_user()
    status = data.pop("status", None)
    try:
        if data:
            fields = replace(services.EventFields.from_event(event), **data)
            event = services.update_event(event, fields, user)
        if status is not None and status != event.status:
            STATUS_CHANGES[status](event)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return event_detail(event, user)


@bp.get("/events/<int:event_id>/registrations", tags=["events (organisers)"])
@token_required("organiser")
@errors(404)
@bp.arguments(RegistrationListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(RegistrationSchema))
def event_registrations(event_id: int, limit: int, offset: int, state: str | None = None):
    """The event's registrations in the order they came (?state= to filter)."""
    event = _event(event_id)
    stmt = select(Registration).where(Registration.event_id == event.id)
    if state:
        stmt = stmt.where(Registration.state == state)
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(
        stmt.order_by(Registration.created_at, Registration.id).limit(limit).offset(offset)
    ).all()
    return page(rows, count, limit, offset)
