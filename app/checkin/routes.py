"""The door pages (/door/...) and their JSON endpoints (session + CSRF header), and the
service worker that keeps the scanner working offline."""

from __future__ import annotations

import re
from datetime import datetime
from functools import wraps
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, TooManyRequests

from app.checkin import door
from app.checkin.gate import door_closed_reason, require_open_door
from app.checkin.redeem import (
    ReplayedScan,
    ScanAnswer,
    Scanner,
    check_in_by_hand,
    redeem,
    stored_answer,
)
from app.checkin.undo import undo as undo_checkin  # the view below is named undo
from app.core.errors import DomainError, json_error, retry_after
from app.core.http import json_id
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.core.security import has_role, roles_required
from app.events.models import Event
from app.extensions import db

bp = Blueprint("checkin", __name__, url_prefix="/door")

DEVICE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def checkin_limit() -> str:
    """The rate limit on scans, per API token or per door user (CHECKIN_RATE_LIMIT)."""
    return current_app.config.get("CHECKIN_RATE_LIMIT") or "1200 per minute"


def run_scan(func, *args, **kwargs) -> ScanAnswer:
    """Run a scan service and commit; a retried nonce rolls back and gets the stored answer."""
    try:
        answer = func(*args, **kwargs)
    except ReplayedScan as replay:
        db.session.rollback()
        answer = stored_answer(replay)
        db.session.rollback()
    else:
        commit()
    return answer


# --- pages -----------------------------------------------------------------------------------


@bp.get("/")
@roles_required("door")
def index():
    """The events this volunteer may scan, today's first."""
    events = door.door_events()
    return render_template("checkin/index.html", events=events, is_today=door.is_today)


def _texts() -> dict:
    """Every text the scanner's script shows, translated here (the script has no catalog)."""
    return {
        "ok": _("Welcome, %(name)s"),
        "ok_offline": _("Offline: this check-in is sent when the network returns."),
        "already_checked_in": _("Already checked in at %(time)s by %(name)s"),
        "already_checked_in_no_by": _("Already checked in at %(time)s"),
        "already_here": _("Already checked in on this device at %(time)s"),
        "already_before": _("Already checked in (before this device went offline)"),
        "wrong_event": _("Not a ticket for this event"),
        "wrong_event_named": _("This ticket is for %(event)s."),
        "cancelled": _("Registration cancelled"),
        "not_confirmed": _("Not confirmed (waiting list)"),
        "unknown": _("Unknown or forged ticket"),
        "not_in_list": _(
            "The ticket is genuine but not in this device's list. Ask an organiser; "
            "it is checked when the network returns."
        ),
        "online": _("Online"),
        "offline": _("Offline"),
        # The placeholder stays for the script: it fills in the number (Intl.PluralRules).
        "pending_one": ngettext(
            "%(count)s scan waiting to sync",
            "%(count)s scans waiting to sync",
            1,
            count="%(count)s",
        ),
        "pending_other": ngettext(
            "%(count)s scan waiting to sync",
            "%(count)s scans waiting to sync",
            2,
            count="%(count)s",
        ),
        "synced": _("All scans are synced."),
        "conflict": _(
            "Conflict: %(name)s was let in offline but had already been checked in at "
            "%(time)s by %(by)s."
        ),
        "conflict_rejected": _("Conflict: a ticket let in offline was refused: %(reason)s"),
        "undo": _("Undo check-in of %(name)s"),
        "undone": _("Check-in of %(name)s undone"),
        "not_checked_in": _("%(name)s was not checked in"),
        "session_ended": _("Your session has ended. Log in again; scans are kept meanwhile."),
        "server_error": _("The server did not answer properly. Try again."),
        "page_expired": _("This page has expired. Reload it."),
        "rate_limited": _("Too many scans at once. Wait a moment."),
        "state_confirmed": _("Confirmed"),
        "state_checked_in": _("Checked in at %(time)s"),
        "state_cancelled": _("Cancelled"),
        "state_waiting": _("Waiting list"),
        "check_in": _("Check in"),
        "nobody_found": _("No one found."),
        "search_short": _("Type at least two letters."),
        "camera_start": _("Start camera"),
        "camera_stop": _("Stop camera"),
        "camera_unavailable": _("The camera cannot be used here. Use the code field instead."),
        "camera_loading": _("Starting the camera…"),
        "tap_to_continue": _("Ready for the next scan"),
        "logout_pending": _(
            "Some scans made without a network have not been sent yet. Logging out deletes "
            "them from this device. Log out anyway?"
        ),
    }


@bp.get("/<int:event_id>")
@roles_required("door")
def scanner(event_id: int):
    """The scanner: camera, code field, search, full-screen results, counts, offline queue."""
    event = db.get_or_404(Event, event_id)
    closed = door_closed_reason(event.status, event.ends_at)
    if closed is not None:
        flash(str(closed), "danger")
        return redirect(url_for("checkin.index"))
    config = {
        "eventId": event.id,
        "locale": _current_locale(),
        "timezone": current_app.config["TIMEZONE"],
        "urls": {
            "scan": url_for("checkin.scan", event_id=event.id),
            "checkIn": url_for("checkin.check_in", event_id=event.id),
            "undo": url_for("checkin.undo", event_id=event.id),
            "counts": url_for("checkin.counts", event_id=event.id),
            "search": url_for("checkin.search", event_id=event.id),
            "bundle": url_for("checkin.bundle", event_id=event.id),
            "serviceWorker": url_for("checkin.service_worker"),
            "decoder": url_for("static", filename="vendor/jsQR.js"),
            "login": url_for("auth.login", next=url_for("checkin.scanner", event_id=event.id)),
        },
        "texts": _texts(),
    }
    return render_template(
        "checkin/scanner.html",
        event=event,
        config=config,
        counts=door.counts(event.id),
    )


def _current_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from /door/ so that its scope covers the scanner pages."""
    folder = Path(current_app.static_folder) / "js"
    response = send_from_directory(folder, "door-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("checkin.index")
    return response


# --- JSON endpoints for the door page (session cookie + X-CSRFToken header) -------------------


def door_json(view):
    """Session-authenticated JSON: 401/403 as JSON, DomainError and bad JSON as JSON errors."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return json_error(401, _("Your session has ended. Log in again."), "login_required")
        if not has_role(current_user, "door"):
            return json_error(403)
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            fields = {exc.field: [str(exc.message)]} if exc.field else None
            return json_error(exc.status, exc.message, exc.code, fields)

    wrapped.required_roles = ("door",)
    return wrapped


def _door_limit_key() -> str:
    return f"door:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


door_limit = rate_limited(checkin_limit, _door_limit_key, "door")


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest()
    return data


def _scanner(data: dict, source: str = "door") -> Scanner:
    device = data.get("device")
    device = device if isinstance(device, str) and DEVICE_RE.match(device) else "unknown"
    return Scanner(current_user.id, current_user.name, f"door {device}", source)


def _scanned_at(data: dict) -> datetime | None:
    value = data.get("scanned_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@bp.errorhandler(CSRFError)
def csrf_error(exc):
    return json_error(400, _("This page has expired. Reload it."), "csrf")


@bp.errorhandler(TooManyRequests)
def too_many(exc):
    return json_error(429, headers={"Retry-After": str(retry_after(exc))})


@bp.errorhandler(BadRequest)
def bad_request(exc):
    return json_error(400, _("The request was not valid JSON."))


@bp.post("/<int:event_id>/scan")
@door_limit
@door_json
def scan(event_id: int):
    """A scanned code (camera, handheld scanner or typed), or a queued offline scan."""
    data = _body()
    code = data.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 2000:
        raise DomainError(_("Scan or type a ticket code."), field="code")
    offline = data.get("offline") is True
    scanner = _scanner(data, "offline" if offline else "door")
    answer = run_scan(
        redeem,
        event_id,
        code,
        data.get("nonce"),
        scanner,
        scanned_at=_scanned_at(data) if offline else None,
        offline_accepted=(data.get("accepted") is True) if offline else None,
    )
    return jsonify({**answer.as_json(), "counts": door.counts(event_id)})


@bp.post("/<int:event_id>/checkin")
@door_limit
@door_json
def check_in(event_id: int):
    """Check in by hand a person found by name."""
    data = _body()
    registration_id = json_id(data, "registration_id")
    require_open_door(event_id)
    answer = run_scan(
        check_in_by_hand, event_id, registration_id, _scanner(data), data.get("nonce")
    )
    return jsonify({**answer.as_json(), "counts": door.counts(event_id)})


@bp.post("/<int:event_id>/undo")
@door_limit
@door_json
def undo(event_id: int):
    """Undo a check-in (the last one, from the page)."""
    data = _body()
    registration_id = json_id(data, "registration_id")
    answer = undo_checkin(registration_id, _scanner(data), event_id=event_id)
    commit()
    return jsonify({**answer.as_json(), "counts": door.counts(event_id)})


@bp.get("/<int:event_id>/counts")
@door_json
def counts(event_id: int):
    """Checked in / confirmed, polled by the page."""
    return jsonify(door.counts(event_id))


@bp.get("/<int:event_id>/search")
@door_limit
@door_json
def search(event_id: int):
    """People by name or ticket short code: name and state only."""
    require_open_door(event_id)
    return jsonify({"results": door.search(event_id, request.args.get("q", ""))})


@bp.get("/<int:event_id>/offline.json")
@door_json
def bundle(event_id: int):
    """The public key and ticket list a device keeps for scanning without a network."""
    require_open_door(event_id)
    response = jsonify(door.offline_bundle(db.session.get(Event, event_id)))
    response.headers["Cache-Control"] = "no-store"
    return response
