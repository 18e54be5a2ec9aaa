"""The check-in API for scanner apps: redeem a code, undo, counts (token auth, role door)."""

from flask import g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api.auth import api_rate_limited, token_required
from app.api.routes import bp
from app.api.schemas import Id, Text
from app.api.spec import errors
from app.checkin import door
from app.checkin.redeem import NONCE_RE, Scanner, redeem
from app.checkin.routes import checkin_limit, run_scan
from app.checkin.undo import undo
from app.core.errors import DomainError
from app.core.jobs import commit

checkin_rate_limit = api_rate_limited(checkin_limit, "api-checkin")

SCAN_STATUSES = ["ok", "already_checked_in", "wrong_event", "cancelled", "not_confirmed", "unknown"]


class ScanRequest(Schema):
    code = Text(
        max_length=2000,
        required=True,
        metadata={"description": "The signed code, the ticket URL or the 8-character short code"},
    )
    event_id = Id(required=True)
    nonce = fields.String(
        required=True,
        validate=validate.Regexp(
            NONCE_RE, error=_l("A nonce of 1-100 letters, digits or ._:- is required.")
        ),
        metadata={"description": "A new random value per scan (a UUID)"},
    )
    device = fields.String(metadata={"description": "Optional: the scanner's name, for the log"})


class UndoRequest(Schema):
    registration_id = Id(required=True)
    device = fields.String(metadata={"description": "Optional: the scanner's name, for the log"})


class ScannedRegistration(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class TicketEvent(Schema):
    title = fields.String(required=True)


class ScanAnswerSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(SCAN_STATUSES))
    registration = fields.Nested(ScannedRegistration, required=True, allow_none=True)
    checked_in_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    checked_in_by = fields.String(required=True, allow_none=True)
    event = fields.Nested(
        TicketEvent,
        metadata={"description": "With wrong_event: the event the ticket belongs to"},
    )


class UndoAnswerSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["undone", "not_checked_in"]))
    registration = fields.Nested(ScannedRegistration, required=True)


class CheckinCountsSchema(Schema):
    event_id = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    checked_in = fields.Integer(required=True)


def _scanner(data: dict) -> Scanner:
    """The token's user; the device is the token's prefix and the app's own device name."""
    user = g.api_user
    device = data.get("device")
    label = f"API {user.token_prefix}…"
    if isinstance(device, str) and device.strip():
        label += " " + device.strip()[:60]
    return Scanner(user.id, user.name, label, "api")


@bp.post("/checkin", tags=["check-in"])
@checkin_rate_limit
@token_required("door")
@errors(404, 409)
@bp.arguments(ScanRequest)
@bp.response(200, ScanAnswerSchema, description="The answer (200 whatever the status)")
def checkin(data: dict):
    """Check in a ticket at an event's door (exactly once; idempotent by nonce).

    The code (or the ticket URL from its QR) is checked against the event's Ed25519 signature
    first. A retry with the same nonce returns the stored answer and records nothing new; the
    same nonce with another code answers 409. Every scan is written to the event's scan log.
    Rate limit: CHECKIN_RATE_LIMIT per token (default 1200 per minute), 429 with Retry-After.
    """
    code = data["code"].strip()
    if not code:
        raise DomainError(_("A ticket code (or ticket URL) is required."), field="code")
    answer = run_scan(redeem, data["event_id"], code, data["nonce"], _scanner(data))
    # Already in the documented shape (ScanAnswer.as_json; the schema tests check it): a
    # Response is sent as it is, without the schema walking it again on the door's hot path.
    return jsonify(answer.as_json())


@bp.post("/checkin/undo", tags=["check-in"])
@checkin_rate_limit
@token_required("door")
@errors(404)
@bp.arguments(UndoRequest)
@bp.response(200, UndoAnswerSchema, description="undone, or not_checked_in")
def checkin_undo(data: dict):
    """Take back a check-in."""
    answer = undo(data["registration_id"], _scanner(data))
    commit()
    return answer.as_json()


@bp.get("/events/<int:event_id>/checkin", tags=["check-in"])
@checkin_rate_limit
@token_required("door")
@errors(404)
@bp.response(200, CheckinCountsSchema)
def checkin_counts(event_id: int):
    """How many of the event's confirmed registrations are checked in."""
    return door.counts(event_id)
