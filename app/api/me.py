"""The caller's own account: GET|PATCH /api/v1/me and what belongs to me (any signed-in user)."""

from __future__ import annotations

from flask import current_app, g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.api.auth import token_required
from app.api.events import caller_user
from app.api.routes import bp
from app.api.schemas import PageArgs, Text, page, page_of, patch_body
from app.api.spec import errors
from app.auth.export import personal_data
from app.auth.services import update_profile
from app.core.errors import DomainError, NotFound
from app.core.http import absolute_url
from app.core.jobs import commit
from app.events import roster
from app.events.ics import event_url
from app.events.models import REGISTRATION_STATES, Event, Registration
from app.events.tickets import ticket_png
from app.extensions import db
from app.members.records import membership_of

LANGUAGES = ["da", "en", "is"]


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True, attribute="locale")
    email_verified = fields.Boolean(required=True, attribute="is_verified")
    roles = fields.Function(
        lambda user: sorted(user.role_names),
        required=True,
        metadata={"type": "array", "items": {"type": "string"}},
    )


class MePatch(Schema):
    name = Text(max_length=200, required=True)
    language = fields.String(
        validate=validate.OneOf(LANGUAGES, error=_l("Choose one of the offered languages."))
    )


class EventRefSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    status = fields.String(required=True)
    url = fields.Function(event_url, required=True, metadata={"type": "string"})


class MyRegistrationListItem(Schema):
    id = fields.Integer(required=True)
    event = fields.Nested(EventRefSchema, required=True)
    state = fields.String(required=True, validate=validate.OneOf(REGISTRATION_STATES))
    position = fields.Function(
        roster.waiting_position,
        required=True,
        metadata={"type": ["integer", "null"], "description": "On the waiting list: 1 is next"},
    )
    created_at = fields.DateTime(required=True)
    checked_in_at = fields.DateTime(required=True, allow_none=True)


class TicketSchema(Schema):
    registration_id = fields.Integer(required=True, attribute="id")
    event = fields.Nested(EventRefSchema, required=True)
    code = fields.String(required=True, attribute="ticket_code")
    short_code = fields.String(required=True)
    qr_png = fields.Function(
        lambda r: absolute_url("api.my_ticket_png", code=r.ticket_code),
        required=True,
        metadata={"type": "string", "description": "The QR image (same token)"},
    )
    url = fields.Function(
        lambda r: absolute_url("tickets.show", code=r.ticket_code),
        required=True,
        metadata={"type": "string", "description": "The ticket's web page"},
    )
    checked_in_at = fields.DateTime(required=True, allow_none=True)


class MyRegistrationArgs(PageArgs):
    state = fields.String(
        validate=validate.OneOf(
            REGISTRATION_STATES, error=_l("Give confirmed, waiting or cancelled.")
        )
    )


class GroupLinkSchema(Schema):
    slug = fields.String(required=True, attribute="group.slug")
    name = fields.String(required=True, attribute="group.name")
    role = fields.String(required=True)


class MembershipSchema(Schema):
    status = fields.String(
        required=True,
        dump_only=True,
        validate=validate.OneOf(["applied", "active", "rejected", "resigned"]),
        metadata={"description": "Changes through the membership's steps, not over the API"},
    )
    full_name = fields.String(required=True)
    joined_on = fields.Date(required=True, allow_none=True)
    ended_on = fields.Date(required=True, allow_none=True)
    groups = fields.List(fields.Nested(GroupLinkSchema), required=True, attribute="group_links")


@bp.get("/me", tags=["me"])
@token_required()
@bp.response(200, MeSchema)
def me():
    """The user the token belongs to."""
    return caller_user()


@bp.patch("/me", tags=["me"])
@token_required()
@bp.arguments(patch_body(MePatch))
@bp.response(200, MeSchema)
def me_patch(data: dict):
    """Change my name or language (the language of my e-mails and pages)."""
    user = caller_user()
    name = data.get("name", user.name).strip()
    if not name:
        raise DomainError(_("Give your name."), field="name")
    try:
        update_profile(user, name, data.get("language", user.locale), None)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return user


def _my_registrations(state: str | None = None, tickets: bool = False):
    stmt = (
        select(Registration)
        .join(Registration.event)
        .options(contains_eager(Registration.event))
        .where(Registration.user_id == g.api_user.id)
    )
    if tickets:
        stmt = stmt.where(Registration.state == "confirmed", Registration.ticket_code.is_not(None))
    elif state:
        stmt = stmt.where(Registration.state == state)
    return stmt


def _page_of_mine(stmt, limit: int, offset: int) -> dict:
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(
        stmt.order_by(Event.starts_at.desc(), Registration.id).limit(limit).offset(offset)
    ).all()
    return page(rows, count, limit, offset)


@bp.get("/me/registrations", tags=["me"])
@token_required()
@bp.arguments(MyRegistrationArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(MyRegistrationListItem))
def my_registrations(limit: int, offset: int, state: str | None = None):
    """My registrations, latest event first (?state= to filter)."""
    return _page_of_mine(_my_registrations(state), limit, offset)


@bp.get("/me/tickets", tags=["me"])
@token_required()
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(TicketSchema))
def my_tickets(limit: int, offset: int):
    """My tickets (confirmed registrations), latest event first, with their QR images."""
    return _page_of_mine(_my_registrations(tickets=True), limit, offset)


@bp.get("/me/tickets/<code>.png", tags=["me"])
@token_required()
@errors(404)
@bp.response(200, content_type="image/png", description="The ticket's QR code")
def my_ticket_png(code: str):
    """The QR image of one of my tickets."""
    registration = db.session.scalar(
        select(Registration).where(
            Registration.ticket_code == code[:200],
            Registration.user_id == g.api_user.id,
            Registration.state == "confirmed",
        )
    )
    if registration is None:
        raise NotFound(_("No such ticket."))
    response = current_app.response_class(ticket_png(registration), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/me/membership", tags=["me"])
@token_required()
@errors(404)
@bp.response(200, MembershipSchema)
def my_membership():
    """My membership record (404 when I have none)."""
    membership = membership_of(g.api_user)
    if membership is None or membership.anonymised_at is not None:
        raise NotFound(_("You have no membership record."))
    return membership


@bp.get("/me/data", tags=["me"])
@token_required()
@bp.response(
    200,
    {"type": "object"},
    description="Everything the system holds about me, as /account/data.json",
)
def my_data():
    """All my data (the same export as /account/data.json)."""
    return jsonify(personal_data(caller_user()))
