"""Staff routes for events (role organiser): editing, publishing, registrations, messages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from app.core.errors import DomainError
from app.core.exports import table_response
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.security import roles_required
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.events import registrations, roster, services
from app.events.forms import ActionForm, AddRegistrationForm, EventForm, MessageForm
from app.events.models import EVENT_STATUSES, Event, EventMessage, Registration
from app.extensions import db
from app.forms.answers import InvalidAnswers, event_form, from_formdata
from app.forms.results import question_label, registration_answers

# Nested under the staff blueprint by the factory: /staff/events/...
bp = Blueprint("events", __name__, url_prefix="/events")

STATE_FILTERS = ("confirmed", "waiting", "cancelled", "checked_in")
STATE_LABELS = {
    "confirmed": _l("Confirmed"),
    "waiting": _l("Waiting list"),
    "cancelled": _l("Cancelled"),
    "checked_in": _l("Checked in"),
}


def _upload(form: EventForm) -> bytes | None:
    upload = form.image.data
    if upload and getattr(upload, "filename", ""):
        return upload.read()
    return None


@bp.get("/")
@roles_required("organiser")
def events():
    query = request.args.get("q", "").strip()[:100]
    status = request.args.get("status")
    if status not in EVENT_STATUSES:
        status = None
    page = db.paginate(services.search_events(query, status), per_page=25, error_out=False)
    return render_template(
        "staff/events/list.html", page=page, q=query, status=status, statuses=EVENT_STATUSES
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("organiser")
def event_new():
    form = EventForm()
    if form.validate_on_submit():
        try:
            event = services.create_event(form.fields_data(), current_user, _upload(form))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The event is saved as a draft. Publish it when it is ready."), "success")
            return redirect(url_for("staff.events.event_registrations", event_id=event.id))
    return render_template("staff/events/form.html", form=form, event=None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@roles_required("organiser")
def event_edit(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = EventForm()
    if request.method == "GET":
        form.fill_from(services.EventFields.from_event(event))
    if form.validate_on_submit():
        try:
            services.update_event(event, form.fields_data(), current_user, _upload(form))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The event is saved."), "success")
            return redirect(url_for("staff.events.event_registrations", event_id=event.id))
    return render_template("staff/events/form.html", form=form, event=event)


def _event_action(
    event_id: int, action, message: str, endpoint: str = "staff.events.event_registrations"
):
    if not ActionForm().validate_on_submit():
        abort(400)
    event = db.get_or_404(Event, event_id)
    try:
        result = action(event)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("staff.events.event_registrations", event_id=event.id))
    commit()
    flash(message, "success")
    target = result.id if isinstance(result, Event) else event.id
    return redirect(url_for(endpoint, event_id=target))


@bp.post("/<int:event_id>/publish")
@roles_required("organiser")
def event_publish(event_id: int):
    return _event_action(event_id, services.publish, _("The event is published."))


@bp.post("/<int:event_id>/unpublish")
@roles_required("organiser")
def event_unpublish(event_id: int):
    return _event_action(event_id, services.unpublish, _("The event is hidden again (a draft)."))


@bp.post("/<int:event_id>/cancel")
@roles_required("organiser")
def event_cancel(event_id: int):
    return _event_action(
        event_id,
        services.cancel,
        _("The event is cancelled. Everyone registered is being told by e-mail."),
    )


@bp.post("/<int:event_id>/duplicate")
@roles_required("organiser")
def event_duplicate(event_id: int):
    return _event_action(
        event_id,
        lambda event: services.duplicate(
            event, current_user, _("%(title)s (copy)", title=event.title)
        ),
        _("A copy is made as a draft. Check its dates before you publish it."),
        endpoint="staff.events.event_edit",
    )


def _registrations_query(event: Event, query: str, state: str | None):
    stmt = select(Registration).where(Registration.event_id == event.id)
    if query:
        like = contains_pattern(query.lower())
        stmt = stmt.where(
            or_(
                func.lower(Registration.name).like(like, escape=LIKE_ESCAPE),
                func.lower(Registration.email).like(like, escape=LIKE_ESCAPE),
            )
        )
    if state == "checked_in":
        stmt = stmt.where(Registration.checked_in_at.is_not(None))
    elif state:
        stmt = stmt.where(Registration.state == state)
    return stmt.order_by(
        Registration.state, Registration.waiting_since, Registration.name, Registration.id
    )


def _filters() -> tuple[str, str | None]:
    query = request.args.get("q", "").strip()[:100]
    state = request.args.get("state")
    return query, state if state in STATE_FILTERS else None


@bp.get("/<int:event_id>/")
@roles_required("organiser")
def event_registrations(event_id: int):
    """The event's registrations: search, filter by state, counts, and the actions."""
    event = db.get_or_404(Event, event_id)
    query, state = _filters()
    page = db.paginate(_registrations_query(event, query, state), per_page=50, error_out=False)
    locale = str(get_locale() or "da")
    questions, answers = registration_answers(event.id, [r.id for r in page.items], locale)
    waiting = db.session.scalars(
        select(Registration.id)
        .where(Registration.event_id == event.id, Registration.state == "waiting")
        .order_by(Registration.waiting_since, Registration.id)
    ).all()
    positions = {rid: n for n, rid in enumerate(waiting, start=1)}
    messages = db.session.scalars(
        select(EventMessage)
        .where(EventMessage.event_id == event.id)
        .order_by(EventMessage.created_at.desc())
    ).all()
    return render_template(
        "staff/events/registrations.html",
        event=event,
        page=page,
        q=query,
        state=state,
        counts=roster.state_counts(event.id),
        positions=positions,
        messages=messages,
        queued=_queued_counts(messages),
        form=ActionForm(),
        state_labels=STATE_LABELS,
        questions=questions,
        answers=answers,
        locale=locale,
    )


def _queued_counts(messages: list[EventMessage]) -> dict[int, int]:
    """How many e-mails of each message are sent: one grouped query on the indexed batch key."""
    keys = {f"event-message:{message.id}": message.id for message in messages}
    if not keys:
        return {}
    sent = db.session.execute(
        select(OutboxMessage.batch_key, func.count())
        .where(OutboxMessage.batch_key.in_(list(keys)), OutboxMessage.state == "sent")
        .group_by(OutboxMessage.batch_key)
    )
    counts = dict.fromkeys(keys.values(), 0)
    for batch_key, count in sent:
        counts[keys[batch_key]] = count
    return counts


@bp.get("/<int:event_id>/registrations.csv", defaults={"fmt": "csv"})
@bp.get("/<int:event_id>/registrations.xlsx", defaults={"fmt": "xlsx"})
@roles_required("organiser")
def event_registrations_csv(event_id: int, fmt: str):
    """The registrations shown (same filters) as CSV or XLSX, headers in the reader's language."""
    event = db.get_or_404(Event, event_id)
    query, state = _filters()
    rows = db.session.scalars(_registrations_query(event, query, state)).all()
    labels = {key: str(label) for key, label in STATE_LABELS.items()}
    headers = [
        _("Name"),
        _("E-mail address"),
        _("State"),
        _("Registered"),
        _("Confirmed"),
        _("Checked in"),
        _("Terms version"),
    ]
    # The registration questions' answers, one column per question (removed ones kept).
    locale = str(get_locale() or "da")
    questions, answers = registration_answers(event.id, [r.id for r in rows], locale)
    headers += [question_label(q, locale) for q in questions]
    table = [
        [
            r.name,
            r.email,
            labels.get(r.state, r.state),
            r.created_at,
            r.confirmed_at,
            r.checked_in_at,
            r.terms.version if r.terms else "",
            *[answers.get(r.id, {}).get(q.id, "") for q in questions],
        ]
        for r in rows
    ]
    return table_response(f"registrations-{event.id}-{event.slug}", headers, table, fmt)


@bp.route("/<int:event_id>/registrations/add", methods=["GET", "POST"])
@roles_required("organiser")
def registration_add(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = AddRegistrationForm()
    questions = event_form(event.id)
    shown, answer_errors = {}, {}
    if form.validate_on_submit():
        raw, shown = from_formdata(questions, request.form) if questions else (None, {})
        try:
            registration = registrations.add_by_hand(
                event,
                form.name.data,
                form.email.data,
                form.locale.data,
                current_user,
                raw,
                questions,
            )
        except InvalidAnswers as exc:
            db.session.rollback()
            answer_errors = exc.errors
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            if registration.state == "confirmed":
                flash(
                    _("%(name)s is registered and gets a ticket.", name=registration.name),
                    "success",
                )
            else:
                flash(
                    _(
                        "The event is full; %(name)s is on the waiting list.",
                        name=registration.name,
                    ),
                    "info",
                )
            return redirect(url_for("staff.events.event_registrations", event_id=event.id))
    page = render_template(
        "staff/events/add.html",
        form=form,
        event=event,
        questions=questions,
        answers=shown,
        answer_errors=answer_errors,
        locale=str(get_locale() or "da"),
    )
    return page, 422 if (form.errors or answer_errors) else 200


def _registration_action(event_id: int, registration_id: int, action, message: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    event = db.get_or_404(Event, event_id)
    registration = db.get_or_404(Registration, registration_id)
    if registration.event_id != event.id:
        abort(404)
    try:
        action(registration.id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(message, "success")
    return redirect(url_for("staff.events.event_registrations", event_id=event.id))


@bp.post("/<int:event_id>/registrations/<int:registration_id>/cancel")
@roles_required("organiser")
def registration_cancel(event_id: int, registration_id: int):
    return _registration_action(
        event_id,
        registration_id,
        lambda rid: registrations.cancel_registration(rid, actor=current_user),
        _("The registration is cancelled."),
    )


@bp.post("/<int:event_id>/registrations/<int:registration_id>/promote")
@roles_required("organiser")
def registration_promote(event_id: int, registration_id: int):
    return _registration_action(
        event_id,
        registration_id,
        lambda rid: registrations.move_from_waiting_list(rid, actor=current_user),
        _("The person is moved from the waiting list and gets a ticket."),
    )


@bp.post("/<int:event_id>/registrations/<int:registration_id>/resend")
@roles_required("organiser")
def registration_resend(event_id: int, registration_id: int):
    return _registration_action(
        event_id, registration_id, registrations.resend_ticket, _("The ticket is sent again.")
    )


@bp.route("/<int:event_id>/message", methods=["GET", "POST"])
@roles_required("organiser")
def event_message(event_id: int):
    """Write to everyone confirmed; sent in batches, each in the recipient's language."""
    event = db.get_or_404(Event, event_id)
    form = MessageForm()
    count = roster.state_counts(event.id)["confirmed"]
    preview = None
    if form.validate_on_submit():
        to_all = not (form.preview.data or form.test.data)
        try:
            if form.test.data:
                services.send_test_message(event, form.subject.data, form.body.data, current_user)
            elif to_all:
                services.message_attendees(event, form.subject.data, form.body.data, current_user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            if to_all:
                commit()
                flash(
                    ngettext(
                        "The message is queued for %(num)d person.",
                        "The message is queued for %(num)d people.",
                        count,
                    ),
                    "success",
                )
                return redirect(url_for("staff.events.event_registrations", event_id=event.id))
            if form.test.data:
                commit()
                flash(_("A test is on its way to %(email)s.", email=current_user.email), "info")
            preview = {"subject": form.subject.data.strip(), "body": form.body.data.strip()}
    return render_template(
        "staff/events/message.html", form=form, event=event, count=count, preview=preview
    )
