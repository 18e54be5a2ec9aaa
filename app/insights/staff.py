"""Staff statistics pages (/staff/stats/...): members (membership staff), events (organisers),
one event's arrivals and registrations, downloads, and the choice of public charts."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.exports import FORMATS, table_response
from app.core.jobs import commit
from app.core.security import has_role, roles_required
from app.core.timeutil import utcnow
from app.events.models import Event
from app.extensions import db
from app.insights import public
from app.insights.charts import BY_KEY, build, charts_for, period_text
from app.insights.periods import default_period, parse_period

# Nested under the staff blueprint by the factory: /staff/stats/...
bp = Blueprint("stats", __name__, url_prefix="/stats")

SECTION_ROLES = {"members": "membership", "events": "organiser", "event": "organiser"}
# The arrivals chart refreshes itself from a little before the doors open until the end.
LIVE_BEFORE = timedelta(hours=3)


@bp.get("/")
@roles_required("membership", "organiser")
def overview():
    section = "members" if has_role(current_user, "membership") else "events"
    return redirect(url_for(f"staff.stats.{section}", **_period_args()))


def _period_args() -> dict:
    return {k: request.args[k][:20] for k in ("from", "to") if request.args.get(k)}


def _section_page(section: str, **context):
    """A page of charts for the period in ?from=&to=, or the filter's error (400)."""
    try:
        period = parse_period(request.args)
    except DomainError as exc:
        return render_template(
            "insights/stats.html",
            section=section,
            error=exc,
            period=default_period(),
            tables=[],
            args=_period_args(),
            **context,
        ), 400
    tables = [build(spec, period) for spec in charts_for(section)]
    return render_template(
        "insights/stats.html",
        section=section,
        error=None,
        period=period,
        period_label=period_text(period),
        tables=tables,
        args={"from": period.start.isoformat(), "to": period.end.isoformat()},
        **context,
    )


@bp.get("/members")
@roles_required("membership")
def members():
    return _section_page("members")


@bp.get("/events")
@roles_required("organiser")
def events():
    return _section_page("events", event_list=_events_in_view())


def _events_in_view() -> list:
    """Events for the per-event pages: those of the period asked for (or the default)."""
    try:
        period = parse_period(request.args)
    except DomainError:
        period = default_period()
    return db.session.execute(
        select(Event.id, Event.title, Event.starts_at)
        .where(
            Event.status != "draft",
            Event.starts_at >= period.start_at,
            Event.starts_at < period.end_at,
        )
        .order_by(Event.starts_at.desc())
        .limit(100)
    ).all()


def _event_or_404(event_id: int) -> Event:
    event = db.get_or_404(Event, event_id)
    if event.status == "draft":
        abort(404)
    return event


def _is_live(event: Event) -> bool:
    now = utcnow()
    return event.status == "published" and event.starts_at - LIVE_BEFORE <= now <= event.ends_at


def _event_context(event: Event) -> dict:
    return {
        "event": event,
        "tables": [build(spec, event) for spec in charts_for("event")],
        "live": _is_live(event),
        "now_time": format_time(utcnow(), "medium"),
    }


@bp.get("/events/<int:event_id>")
@roles_required("organiser")
def event(event_id: int):
    return render_template("insights/event.html", **_event_context(_event_or_404(event_id)))


@bp.get("/events/<int:event_id>/live")
@roles_required("organiser")
def event_live(event_id: int):
    """The charts again, for the page's refresh while the door is open."""
    event = _event_or_404(event_id)
    return {"html": render_template("insights/_event_charts.html", **_event_context(event))}


@bp.get("/<key>.<fmt>")
@roles_required("membership", "organiser")
def download(key: str, fmt: str):
    """One chart's table as CSV or XLSX, for the period (or ?event=) asked for."""
    spec = BY_KEY.get(key)
    if spec is None or fmt not in FORMATS:
        abort(404)
    if not has_role(current_user, SECTION_ROLES[spec.section]):
        abort(403)
    if spec.section == "event":
        event_id = request.args.get("event", type=int)
        if event_id is None:
            abort(404)
        scope = _event_or_404(event_id)
        stem = f"{key}-{scope.id}"
    else:
        try:
            scope = parse_period(request.args)
        except DomainError as exc:
            return render_template("insights/bad_filter.html", error=exc), 400
        stem = f"{key}-{scope.start.isoformat()}-{scope.end.isoformat()}"
    table = build(spec, scope)
    return table_response(
        stem, table.headings, [[label, *values] for label, values in table.rows], fmt
    )


@bp.route("/public", methods=["GET", "POST"])
@roles_required("membership", "organiser")
def public_settings():
    choices = public.choices_for(current_user)
    if request.method == "POST":  # CSRFProtect has checked the token
        chosen = {key for key in request.form.getlist("chart") if key in BY_KEY}
        public.set_public(current_user, chosen)
        commit()
        flash(_("The public statistics page is updated."), "success")
        return redirect(url_for("staff.stats.public_settings"))
    return render_template(
        "insights/public_settings.html", choices=choices, chosen=public.public_keys()
    )
