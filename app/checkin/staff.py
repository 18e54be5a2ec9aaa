"""Staff pages for the door: each event's scan log, and check-in or undo by hand."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from app.checkin import door
from app.checkin.models import Scan
from app.checkin.redeem import Scanner, check_in_by_hand
from app.checkin.routes import run_scan
from app.checkin.undo import undo
from app.core.errors import DomainError
from app.core.forms import FlaskForm
from app.core.jobs import commit
from app.core.security import roles_required
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.events.models import Event, Registration
from app.extensions import db

# Nested under the staff blueprint by the factory: /staff/door/ and /staff/events/<id>/door.
bp = Blueprint("checkin", __name__)

RESULT_LABELS = {
    "ok": _l("Checked in"),
    "already_checked_in": _l("Already checked in"),
    "wrong_event": _l("Ticket for another event"),
    "cancelled": _l("Registration cancelled"),
    "not_confirmed": _l("Not confirmed (waiting list)"),
    "unknown": _l("Unknown or forged ticket"),
    "undone": _l("Check-in undone"),
    "not_checked_in": _l("Undo: was not checked in"),
}
# The scan log as sentences: %(by)s scanned, %(person)s is the registration's name.
SCAN_SENTENCES = {
    "ok": _l("%(by)s checked in %(person)s"),
    "already_checked_in": _l("%(by)s scanned %(person)s, who was already checked in"),
    "wrong_event": _l("%(by)s scanned a ticket for another event"),
    "cancelled": _l("%(by)s scanned the cancelled registration of %(person)s"),
    "not_confirmed": _l("%(by)s scanned %(person)s, who is on the waiting list"),
    "unknown": _l("%(by)s scanned an unknown or forged ticket"),
    "undone": _l("%(by)s undid the check-in of %(person)s"),
    "not_checked_in": _l("%(by)s tried to undo the check-in of %(person)s, who was not checked in"),
}


def scan_sentence(scan) -> str:
    """What a scan in the log did, as a sentence in the reader's language."""
    by = scan.user.name if scan.user else str(_l("Someone"))
    person = scan.registration.name if scan.registration else str(_l("a person"))
    template = SCAN_SENTENCES.get(scan.result, SCAN_SENTENCES["unknown"])
    return str(template) % {"by": by, "person": person}


RESULT_STYLES = {
    "ok": "success",
    "already_checked_in": "warning",
    "undone": "secondary",
    "not_checked_in": "secondary",
}
SOURCE_LABELS = {
    "api": _l("Scanner app (API)"),
    "door": _l("Door page"),
    "offline": _l("Door page, offline"),
    "staff": _l("Staff area"),
}
STATE_LABELS = {
    "confirmed": _l("Confirmed"),
    "waiting": _l("Waiting list"),
    "cancelled": _l("Cancelled"),
}


class DoorActionForm(FlaskForm):
    """Check in or undo by hand: the registration's id, with the CSRF token."""

    registration_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,12}$")])


def _scanner() -> Scanner:
    return Scanner(current_user.id, current_user.name, "", "staff")


@bp.get("/door/")
@roles_required("organiser")
def door_events():
    """Events with their check-in counts, each linking to its scan log."""
    rows = db.session.execute(
        select(
            Event,
            func.count(Registration.id).filter(Registration.state == "confirmed"),
            func.count(Registration.checked_in_at),
        )
        .outerjoin(Registration, Registration.event_id == Event.id)
        .where(Event.status != "draft")
        .group_by(Event.id)
        .order_by(Event.starts_at.desc())
        .limit(200)
    ).all()
    return render_template("checkin/staff_events.html", rows=rows)


@bp.get("/events/<int:event_id>/door")
@roles_required("organiser")
def door_log(event_id: int):
    """The event's scan log, and its registrations to check in or undo by hand."""
    event = db.get_or_404(Event, event_id)
    query = request.args.get("q", "").strip()[:100]
    people = []
    if query:
        pattern = contains_pattern(query)
        people = db.session.scalars(
            select(Registration)
            .options(joinedload(Registration.checked_in_by))
            .where(
                Registration.event_id == event.id,
                Registration.name.ilike(pattern, escape=LIKE_ESCAPE)
                | Registration.email.ilike(pattern, escape=LIKE_ESCAPE),
            )
            .order_by(Registration.name)
            .limit(50)
        ).all()
    page = db.paginate(
        door.scan_log(event.id).options(
            joinedload(Scan.registration), joinedload(Scan.user), joinedload(Scan.checked_in_by)
        ),
        per_page=50,
        error_out=False,
    )
    conflicts = db.session.scalar(
        select(func.count(Scan.id)).where(
            Scan.event_id == event.id,
            Scan.offline_accepted.is_(True),
            Scan.result != "ok",
        )
    )
    return render_template(
        "checkin/staff_log.html",
        event=event,
        counts=door.counts(event.id),
        page=page,
        q=query,
        people=people,
        conflicts=conflicts,
        form=DoorActionForm(),
        result_labels=RESULT_LABELS,
        result_styles=RESULT_STYLES,
        scan_sentence=scan_sentence,
        source_labels=SOURCE_LABELS,
        state_labels=STATE_LABELS,
    )


def _back(event_id: int):
    query = request.form.get("q", "").strip()[:100]
    return redirect(url_for("staff.checkin.door_log", event_id=event_id, q=query or None))


@bp.post("/events/<int:event_id>/door/checkin")
@roles_required("organiser")
def door_check_in(event_id: int):
    """Check a registration in by hand."""
    db.get_or_404(Event, event_id)
    form = DoorActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        answer = run_scan(check_in_by_hand, event_id, int(form.registration_id.data), _scanner())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back(event_id)
    name = answer.name or ""
    if answer.status == "ok":
        flash(_("%(name)s is checked in.", name=name), "success")
    elif answer.status == "already_checked_in":
        flash(_("%(name)s was already checked in.", name=name), "warning")
    else:
        flash(
            _(
                "%(name)s cannot be checked in: %(reason)s",
                name=name,
                reason=RESULT_LABELS[answer.status],
            ),
            "danger",
        )
    return _back(event_id)


@bp.post("/events/<int:event_id>/door/undo")
@roles_required("organiser")
def door_undo(event_id: int):
    """Undo a registration's check-in."""
    db.get_or_404(Event, event_id)
    form = DoorActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        answer = undo(int(form.registration_id.data), _scanner(), event_id=event_id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back(event_id)
    commit()
    if answer.status == "undone":
        flash(_("The check-in of %(name)s is undone.", name=answer.name), "success")
    else:
        flash(_("%(name)s was not checked in.", name=answer.name), "info")
    return _back(event_id)
