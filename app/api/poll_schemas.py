"""What the polls API reads and answers: polls with questions, ballots, receipts and results."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api.schemas import Id, StrictBoolean, Text, WholeNumber

POLL_STATUSES = ["draft", "scheduled", "open", "closed", "published"]
QUESTION_KINDS = ["yes_no", "single", "multiple", "ranked"]
RESULTS = ["after_close", "live"]


def _time(**kwargs) -> fields.String:
    return fields.String(allow_none=True, metadata={"format": "date-time"}, **kwargs)


class OptionSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    value = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(["yes", "no", "abstain"])
    )


class QuestionSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_KINDS))
    max_choices = fields.Integer(required=True, metadata={"description": "multiple: at most"})
    seats = fields.Integer(
        required=True,
        metadata={"description": "ranked: 1 = instant runoff, more = STV with the Droop quota"},
    )
    options = fields.List(fields.Nested(OptionSchema), required=True)


class ElectorateSchema(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["members", "users", "group", "event"])
    )
    group = fields.String(required=True, allow_none=True, metadata={"description": "Its slug"})
    event_id = fields.Integer(required=True, allow_none=True)
    size = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Fixed when the poll opens; null before."},
    )


class PollSchema(Schema):
    """A poll as the API shows it, with its questions and options (and their ids)."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(POLL_STATUSES))
    secret = fields.Boolean(required=True)
    results = fields.String(required=True, validate=validate.OneOf(RESULTS))
    may_change_vote = fields.Boolean(required=True)
    reminder_hours_before = fields.Integer(required=True, allow_none=True)
    electorate = fields.Nested(ElectorateSchema, required=True)
    opens_at = _time(required=True)
    closes_at = _time(required=True)
    opened_at = _time(required=True)
    closed_at = _time(required=True)
    published_at = _time(required=True)
    voted = fields.Boolean(
        required=True, allow_none=True, metadata={"description": "Whether the caller has voted"}
    )
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


# --- creating a poll -------------------------------------------------------------------------


class ElectorateIn(Schema):
    kind = fields.String(
        load_default="members",
        validate=validate.OneOf(
            ["members", "users", "group", "event"],
            error=_l("Give members, users, group or event."),
        ),
    )
    group = Text(max_length=120, metadata={"description": "The group's slug (kind group)"})
    event_id = Id(metadata={"description": "The event (kind event)"})


class QuestionIn(Schema):
    text = Text(max_length=500, required=True)
    kind = fields.String(
        load_default="single",
        validate=validate.OneOf(
            QUESTION_KINDS, error=_l("Give yes_no, single, multiple or ranked.")
        ),
    )
    max_choices = Id(load_default=1, metadata={"description": "multiple: at most"})
    seats = Id(load_default=1, metadata={"description": "ranked: seats to fill"})
    options = fields.List(
        Text(max_length=300),
        load_default=list,
        metadata={"description": "Texts (none for yes_no, which gets yes/no/abstain)"},
    )


class PollCreate(Schema):
    """A new poll: a draft; with both opens_at and closes_at it is scheduled and opens by itself
    at opens_at (at once if that has passed)."""

    title = Text(max_length=200, required=True)
    description = fields.String(load_default="")
    secret = StrictBoolean(load_default=True)
    results = fields.String(
        load_default="after_close",
        validate=validate.OneOf(RESULTS, error=_l("Give after_close or live.")),
    )
    may_change_vote = StrictBoolean(load_default=False, metadata={"description": "Open ballots"})
    reminder_hours_before = Id(allow_none=True, load_default=None)
    electorate = fields.Nested(ElectorateIn, load_default=lambda: {"kind": "members"})
    opens_at = fields.AwareDateTime(allow_none=True, load_default=None)
    closes_at = fields.AwareDateTime(allow_none=True, load_default=None)
    questions = fields.List(
        fields.Nested(QuestionIn),
        required=True,
        validate=validate.Length(min=1, error=_l("Give at least one question.")),
    )


# --- ballots and results ---------------------------------------------------------------------


class BallotIn(Schema):
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.List(WholeNumber()),
        required=True,
        metadata={
            "description": "Question id -> option ids, in preference order for ranked questions; "
            "a question left out is blank."
        },
    )


class ReceiptSchema(Schema):
    receipt = fields.String(
        required=True, metadata={"description": "Shown this once: never stored or e-mailed"}
    )


class OptionResultSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    value = fields.String(required=True, allow_none=True)
    votes = fields.Integer(required=True)
    percent = fields.Float(required=True)


class QuestionResultSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True)
    seats = fields.Integer(required=True)
    max_choices = fields.Integer(required=True)
    ballots = fields.Integer(required=True)
    blank = fields.Integer(required=True)
    blank_percent = fields.Float(required=True)
    options = fields.List(fields.Nested(OptionResultSchema), required=True)
    rounds = fields.List(
        fields.Dict(), required=True, metadata={"description": "The stages of a ranked count"}
    )
    elected = fields.List(fields.Integer(), required=True)
    quota = fields.Float(metadata={"description": "ranked: the Droop quota"})


class ResultsSchema(Schema):
    poll_id = fields.Integer(required=True)
    electorate = fields.Integer(required=True, allow_none=True)
    voted = fields.Integer(required=True)
    ballots = fields.Integer(required=True)
    turnout_percent = fields.Float(required=True)
    questions = fields.List(fields.Nested(QuestionResultSchema), required=True)
