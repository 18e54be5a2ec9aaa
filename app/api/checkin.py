"""The check-in API for scanner apps: redeem a code, undo, counts (token auth, role door)."""

from flask import g, jsonify
from flask_babel import gettext as _

from app.api.auth import api_rate_limited, token_required
from app.api.routes import bp, json_body
from app.checkin import door
from app.checkin.redeem import Scanner, redeem
from app.checkin.routes import checkin_limit, run_scan
from app.checkin.undo import undo
from app.core.errors import DomainError
from app.core.http import json_id
from app.core.jobs import commit

checkin_rate_limit = api_rate_limited(checkin_limit, "api-checkin")


def _scanner(data: dict) -> Scanner:
    """The token's user; the device is the token's prefix and the app's own device name."""
    user = g.api_user
    device = data.get("device")
    label = f"API {user.token_prefix}…"
    if isinstance(device, str) and device.strip():
        label += " " + device.strip()[:60]
    return Scanner(user.id, user.name, label, "api")


@bp.post("/checkin")
@checkin_rate_limit
@token_required("door")
def checkin():
    """Redeem a ticket code at an event's door: exactly once, idempotent by nonce."""
    data = json_body()
    code = data.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 2000:
        raise DomainError(_("A ticket code (or ticket URL) is required."), field="code")
    event_id = json_id(data, "event_id")
    answer = run_scan(redeem, event_id, code, data.get("nonce"), _scanner(data))
    return jsonify(answer.as_json())


@bp.post("/checkin/undo")
@checkin_rate_limit
@token_required("door")
def checkin_undo():
    """Take back a check-in."""
    data = json_body()
    answer = undo(json_id(data, "registration_id"), _scanner(data))
    commit()
    return jsonify(answer.as_json())


@bp.get("/events/<int:event_id>/checkin")
@checkin_rate_limit
@token_required("door")
def checkin_counts(event_id: int):
    """How many of the event's confirmed registrations are checked in."""
    return jsonify(door.counts(event_id))
