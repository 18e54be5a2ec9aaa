"""What the events API reads and answers: events, registrations and their states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api.schemas import PageArgs, StrictBoolean, Text, WholeNumber
from app.events.eligibility import REASONS, availability, closes_at
from app.events.ics import event_url
from app.events.models import EVENT_STATUSES, REGISTRATION_STATES

AVAILABILITY = ["open", "full_waiting", "full", "closed", "not_open", "cancelled", "past"]


class Columns(fields.Nested):
    """A nested object made of some of the object's own columns."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj


class VenueSchema(Schema):
    """Where the event is (empty strings when it is online only)."""

    name = fields.String(attribute="venue_name", required=True)
    street = fields.String(required=True)
    postal_code = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)


class EventSchema(Schema):
    """An event as a list shows it."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    slug = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(EVENT_STATUSES))
    summary = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    venue = Columns(VenueSchema, required=True)
    online_url = fields.String(required=True)
    capacity = fields.Integer(required=True, allow_none=True)
    seats_left = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: no limit"}
    )
    waiting_list_enabled = fields.Boolean(required=True)
    members_only = fields.Boolean(required=True)
    registration_opens_at = fields.DateTime(required=True, allow_none=True)
    registration_closes_at = fields.Function(
        lambda e: closes_at(e).isoformat(),
        required=True,
        metadata={"type": "string", "format": "date-time"},
    )
    availability = fields.Function(
        lambda e: availability(e),
        required=True,
        metadata={"type": "string", "enum": AVAILABILITY},
    )
    url = fields.Function(lambda e: event_url(e), required=True, metadata={"type": "string"})


class MyRegistrationSchema(Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(REGISTRATION_STATES))
    position = fields.Integer(
        required=True, allow_none=True, metadata={"description": "On the waiting list: 1 is next"}
    )
    ticket_code = fields.String(required=True, allow_none=True)


class EventDetailSchema(EventSchema):
    """An event with its description, terms and the caller's own registration."""

    description_html = fields.String(required=True)
    terms = fields.String(
        required=True, allow_none=True, metadata={"description": "Accept them to register"}
    )
    my_registration = fields.Nested(MyRegistrationSchema, required=True, allow_none=True)
    problem = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(list(REASONS)),
        metadata={"description": "Why the caller cannot register now (null: they can)"},
    )


class EventListArgs(PageArgs):
    from_ = fields.AwareDateTime(
        data_key="from",
        metadata={"description": "Events that end after this time (default: now)"},
    )
    to = fields.AwareDateTime(metadata={"description": "Events that start before this time"})
    q = fields.String(
        validate=validate.Length(max=200, error=_l("At most %(max)s characters.", max=200)),
        metadata={"description": "Words in the title, summary or city"},
    )


class RegisterRequest(Schema):
    accept_terms = StrictBoolean(
        load_default=False, metadata={"description": "Required true when the event has terms"}
    )
    answers = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Answers to the event's registration questions, by question id"},
    )


class RegistrationAnswerSchema(Schema):
    """The answer to a registration: confirmed, or waiting with a position."""

    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["confirmed", "waiting"]))
    position = fields.Integer(required=True, allow_none=True)
    ticket_code = fields.String(required=True, allow_none=True)


class CancelledSchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["cancelled"]))


# --- organisers ------------------------------------------------------------------------------


class EventWrite(Schema):
    """An event as an organiser creates it (PATCH: any of these fields)."""

    title = Text(max_length=200, required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    summary = Text(max_length=500)
    description = Text(max_length=100_000, metadata={"description": "HTML (sanitised)"})
    venue_name = Text(max_length=200)
    street = Text(max_length=200)
    postal_code = Text(max_length=20)
    city = Text(max_length=100)
    country = Text(max_length=100)
    online_url = Text(max_length=500)
    capacity = WholeNumber(
        allow_none=True,
        validate=validate.Range(min=1, max=1_000_000, error=_l("Give a whole number above 0.")),
    )
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    members_only = StrictBoolean()
    waiting_list_enabled = StrictBoolean()
    terms = Text(max_length=20_000)
    slug = Text(max_length=200)


class EventPatch(EventWrite):
    status = fields.String(
        validate=validate.OneOf(EVENT_STATUSES, error=_l("Give draft, published or cancelled.")),
        metadata={"description": "published publishes, draft hides, cancelled cancels"},
    )


class RegistrationSchema(Schema):
    """A registration as organisers see it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(REGISTRATION_STATES))
    created_at = fields.DateTime(required=True)
    confirmed_at = fields.DateTime(required=True, allow_none=True)
    waiting_since = fields.DateTime(required=True, allow_none=True)
    cancelled_at = fields.DateTime(required=True, allow_none=True)
    checked_in_at = fields.DateTime(required=True, allow_none=True)


class RegistrationListArgs(PageArgs):
    state = fields.String(
        validate=validate.OneOf(
            REGISTRATION_STATES, error=_l("Give confirmed, waiting or cancelled.")
        )
    )
