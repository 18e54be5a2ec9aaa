"""Public and member pages: event lists, the event page, registering, calendar files, tickets."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager, defer, joinedload

from app.core import dates
from app.core.errors import DomainError
from app.core.http import url_for_remembered
from app.core.jobs import commit
from app.core.page_cache import public_page
from app.core.security import has_role
from app.core.storage import get_storage
from app.core.timeutil import utcnow
from app.events import eligibility, registrations, roster
from app.events.forms import ActionForm, RegisterForm
from app.events.ics import calendar_bytes, event_url, feed_bytes, place
from app.events.models import Event, Registration
from app.events.text import plain_text
from app.events.tickets import ticket_png
from app.extensions import db
from app.forms.answers import InvalidAnswers, from_formdata
from app.forms.models import Form
from app.forms.results import form_answers, question_label

bp = Blueprint("events", __name__, url_prefix="/events")
tickets_bp = Blueprint("tickets", __name__)

PER_PAGE = 12
LISTED = ("published", "cancelled")
FEED_LIMIT = 500  # upcoming events in the calendar feed


@bp.app_template_filter("isodatetime")
def isodatetime(value: str | None, fmt: str = "medium", end: str | None = None) -> str:
    """An ISO timestamp (as stored in e-mail contexts) in the current locale; with `end`, the
    start and end together."""
    if not value:
        return ""
    if end:
        return dates.format_span(datetime.fromisoformat(value), datetime.fromisoformat(end), fmt)
    return dates.format_datetime(datetime.fromisoformat(value), fmt)


@bp.app_context_processor
def event_helpers():
    return {
        "availability": eligibility.availability,
        "event_place": place,
        "waiting_position": roster.waiting_position,
    }


def _is_organiser() -> bool:
    return has_role(current_user, "organiser")


def _visible_event(event_id: int) -> Event:
    """A published or cancelled event; drafts only for organisers (a preview)."""
    # With its terms (a handful of versions): the page and a registration read the current one.
    event = db.get_or_404(Event, event_id, options=[joinedload(Event.terms)])
    return _shown(event)


def _shown(event: Event) -> Event:
    if event.status == "draft" and not _is_organiser():
        abort(404)
    return event


# Built once: the event with its terms and the registration questions it asks now (its open
# form, as event_form reads it), in one statement.
_EVENT_AND_QUESTIONS = (
    select(Event, Form)
    .outerjoin(Form, (Form.event_id == Event.id) & (Form.status == "open"))
    .where(Event.id == bindparam("event_id"))
    .options(joinedload(Event.terms))
)


# A registration reads neither the event's texts, place and pictures nor the form's texts (the
# questions come with the form's relationship): they stay in the database (issue 13: each column
# costs client CPU to describe and load). Read anyway if something asks (one more statement,
# which tests/test_events_page_queries.py would show).
_EVENT_AND_QUESTIONS_TO_REGISTER = _EVENT_AND_QUESTIONS.options(
    defer(Event.summary),
    defer(Event.description_html),
    defer(Event.description_markdown),
    defer(Event.venue_name),
    defer(Event.street),
    defer(Event.postal_code),
    defer(Event.city),
    defer(Event.country),
    defer(Event.online_url),
    defer(Event.image_key),
    defer(Event.image_list_key),
    defer(Event.image_detail_key),
    defer(Event.public_key),
    defer(Event.created_by_id),
    defer(Event.created_at),
    defer(Event.updated_at),
    defer(Form.texts),
    defer(Form.created_by_id),
    defer(Form.created_at),
    defer(Form.updated_at),
)


def _visible_event_and_questions(
    event_id: int, to_register: bool = False
) -> tuple[Event, Form | None]:
    """`_visible_event` and `event_form` in one statement."""
    statement = _EVENT_AND_QUESTIONS_TO_REGISTER if to_register else _EVENT_AND_QUESTIONS
    row = db.session.execute(statement, {"event_id": event_id}).unique().first()
    if row is None:
        abort(404)
    return _shown(row[0]), row[1]


@bp.get("/")
@public_page
def index():
    """Upcoming events, soonest first."""
    now = utcnow()
    stmt = (
        select(Event)
        .where(Event.status.in_(LISTED), Event.ends_at > now)
        .order_by(Event.starts_at, Event.id)
    )
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("events/index.html", page=page, past=False, now=now)


@bp.get("/past")
@public_page
def past():
    """Events that have ended, latest first."""
    now = utcnow()
    stmt = (
        select(Event)
        .where(Event.status.in_(LISTED), Event.ends_at <= now)
        .order_by(Event.starts_at.desc(), Event.id.desc())
    )
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("events/index.html", page=page, past=True, now=now)


@bp.get("/<int:event_id>")
def short(event_id: int):
    event = _visible_event(event_id)
    return redirect(url_for("events.detail", event_id=event.id, slug=event.slug), 301)


@bp.get("/<int:event_id>/<slug>")
@public_page
def detail(event_id: int, slug: str):
    """The event page; an old (or wrong) slug redirects to the current address."""
    event, questions = _visible_event_and_questions(event_id)
    if slug != event.slug:
        return redirect(url_for("events.detail", event_id=event.id, slug=event.slug), 301)
    return _detail_page(event, questions)


def _detail_page(
    event: Event, questions: Form | None, answers: dict | None = None, errors: dict | None = None
):
    """The event page; after refused answers, with what was sent and the errors beside it."""
    registration = roster.registration_for(event.id, current_user)
    problem = eligibility.window_problem(event)
    if problem is None and current_user.is_authenticated:
        problem = eligibility.user_problem(event, current_user)
    image_key = event.image_detail_key or event.image_key
    storage = get_storage()
    locale = str(get_locale() or "da")
    my_answers = []
    if registration is not None and registration.state in ("confirmed", "waiting"):
        shown, given = form_answers(questions, [registration.id], locale)
        mine = given.get(registration.id, {})
        my_answers = [(question_label(q, locale), mine[q.id]) for q in shown if q.id in mine]
    return render_template(
        "events/detail.html",
        event=event,
        registration=registration,
        problem=problem,
        reasons=eligibility.REASONS,
        # A form makes a CSRF token, which a visitor's session would carry in a cookie: forms
        # for people signed in only (the page shows a visitor a link to log in).
        form=RegisterForm() if current_user.is_authenticated else None,
        action_form=ActionForm() if current_user.is_authenticated else None,
        canonical=event_url(event),
        image_url=storage.url("public", image_key) if image_key else None,
        description_text=event.summary or plain_text(event.description_html)[:300],
        now=utcnow(),
        questions=questions,
        answers=answers or {},
        answer_errors=errors or {},
        my_answers=my_answers,
        locale=locale,
    ), (422 if errors else 200)


def _back_to(event: Event):
    return redirect(url_for_remembered("events.detail", event_id=event.id, slug=event.slug), 303)


@bp.post("/<int:event_id>/register")
@login_required
def register(event_id: int):
    """Register (field accept_terms): confirmed, waiting with a position, or a clear refusal."""
    # CSRFProtect checked this POST's token before the view: the form need not make and sign a
    # new token it never shows (a page shown again builds forms of its own).
    form = RegisterForm(meta={"csrf": not g.get("csrf_valid", False)})
    if not form.validate_on_submit():
        abort(400)
    event, questions = _visible_event_and_questions(event_id, to_register=True)
    back = _back_to(event)  # built now: after the commit the event would be read again
    raw, shown = from_formdata(questions, request.form) if questions else (None, {})
    try:
        # The user itself, not the proxy: the service reads several of its attributes.
        registration = registrations.register(
            event.id,
            current_user._get_current_object(),
            form.accept_terms.data,
            answers=raw,
            questions=questions,
        )
    except InvalidAnswers as exc:
        db.session.rollback()
        event, questions = _visible_event_and_questions(event_id)
        return _detail_page(event, questions, shown, exc.errors)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back
    # The message is made before the commit, which expires the user its language comes from.
    if registration.state == "confirmed":
        message = (_("You are registered. Your ticket is on its way by e-mail."), "success")
    else:
        message = (
            _(
                "The event is full, so you are on the waiting list. We e-mail you a ticket "
                "if a seat becomes free."
            ),
            "info",
        )
    commit()
    flash(*message)
    return back


@bp.post("/<int:event_id>/unregister")
@login_required
def unregister(event_id: int):
    """Cancel my registration; the seat goes to the first person waiting."""
    if not ActionForm().validate_on_submit():
        abort(400)
    event = _visible_event(event_id)
    try:
        registrations.unregister(event.id, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back_to(event)
    commit()
    flash(_("Your registration is cancelled."), "info")
    return _back_to(event)


@bp.get("/feed.ics")
def calendar_feed():
    """Every published upcoming event as one calendar to subscribe to."""
    events = db.session.scalars(
        select(Event)
        .where(Event.status.in_(LISTED), Event.ends_at > utcnow())
        .order_by(Event.starts_at, Event.id)
        .limit(FEED_LIMIT)
    ).all()
    return (
        feed_bytes(events),
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'inline; filename="events.ics"',
        },
    )


@bp.get("/<int:event_id>/event.ics")
def calendar(event_id: int):
    event = _visible_event(event_id)
    body = calendar_bytes(event)
    return (
        body,
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{event.slug}.ics"',
        },
    )


# Tickets -------------------------------------------------------------------------------------


def _ticket_or_404(code: str) -> Registration:
    """The registration holding this code, for its owner or staff (organiser, door) only."""
    registration = db.session.scalar(select(Registration).where(Registration.ticket_code == code))
    if registration is None:
        abort(404)
    if registration.user_id != current_user.id and not has_role(current_user, "organiser", "door"):
        abort(404)
    return registration


@tickets_bp.get("/tickets/")
@login_required
def mine():
    """My registrations and tickets: upcoming first, then past ones."""
    rows = db.session.scalars(
        select(Registration)
        .join(Registration.event)
        .options(contains_eager(Registration.event))
        .where(Registration.user_id == current_user.id, Registration.state != "cancelled")
        .order_by(Event.starts_at)
    ).all()
    now = utcnow()
    upcoming = [r for r in rows if r.event.ends_at > now]
    earlier = [r for r in reversed(rows) if r.event.ends_at <= now]
    return render_template("tickets/mine.html", upcoming=upcoming, earlier=earlier)


@tickets_bp.get("/tickets/<code>.png")
@login_required
def png(code: str):
    """The ticket's QR image (stored by the ticket job, or drawn now if the job has not run)."""
    registration = _ticket_or_404(code)
    # A small private file: sent from here (same origin, no presigned URL that could leak).
    return (
        ticket_png(registration),
        200,
        {
            "Content-Type": "image/png",
            "Cache-Control": "private, no-store",
        },
    )


@tickets_bp.get("/tickets/<code>")
@login_required
def show(code: str):
    registration = _ticket_or_404(code)
    return render_template(
        "tickets/show.html", registration=registration, event=registration.event, now=utcnow()
    )


@tickets_bp.get("/t/<code>")
def short_link(code: str):
    """The short form in the QR code: opens the ticket page."""
    return redirect(url_for("tickets.show", code=code))
