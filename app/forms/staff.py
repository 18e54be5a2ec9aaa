"""Staff pages of forms and surveys (/staff/forms/...): the builder, attaching, results."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.exports import table_response
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.events.models import Event
from app.extensions import db
from app.forms import results, services
from app.forms.forms import (
    AUDIENCE_LABELS,
    FORM_KIND_LABELS,
    QUESTION_KIND_LABELS,
    STATUS_LABELS,
    ActionForm,
    QuestionForm,
    SettingsForm,
)
from app.forms.models import FORM_KINDS, LOCALES, Form, Question
from app.members import groups

# Nested under the staff blueprint by the factory: /staff/forms/...
bp = Blueprint("forms", __name__, url_prefix="/forms")

BUILDER_ROLES = ("organiser", "membership", "editor")


def _locale() -> str:
    return str(get_locale() or "da")


def _form_or_404(form_id: int) -> Form:
    """The form, when the signed-in staff member builds forms of its kind (else 403)."""
    form = db.get_or_404(Form, form_id)
    if not services.may_manage(current_user, form.kind):
        abort(403)
    return form


def _question_or_404(form: Form, question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    if question.form_id != form.id or question.removed_at is not None:
        abort(404)
    return question


def _builder(form: Form):
    return redirect(url_for("staff.forms.form_detail", form_id=form.id), 303)


def _settings_form(form: Form | None = None) -> SettingsForm:
    settings = SettingsForm()
    settings.group_id.choices = [("", "–")] + [(str(g.id), g.name) for g in groups.list_groups()]
    if form is not None and request.method == "GET":
        settings.fill_from(form)
    return settings


@bp.app_context_processor
def form_helpers():
    return {"intake_answers": results.intake_answers}


@bp.get("/")
@roles_required(*BUILDER_ROLES)
def form_list():
    """The forms this staff member builds: surveys, intake forms, registration questions."""
    kinds = services.kinds_for(current_user)
    forms = db.session.scalars(
        select(Form).where(Form.kind.in_(kinds)).order_by(Form.created_at.desc(), Form.id.desc())
    ).all()
    return render_template(
        "forms/staff/list.html",
        forms=forms,
        kinds=[k for k in kinds if k != "event"],
        kind_labels=FORM_KIND_LABELS,
        status_labels=STATUS_LABELS,
        counts=results.response_counts([f.id for f in forms]),
        locale=_locale(),
    )


@bp.route("/new/<kind>", methods=["GET", "POST"])
@roles_required(*BUILDER_ROLES)
def form_new(kind: str):
    if kind not in FORM_KINDS or kind == "event":
        abort(404)
    if not services.may_manage(current_user, kind):
        abort(403)
    settings = _settings_form()
    if settings.validate_on_submit():
        try:
            form = services.create_form(kind, settings.settings(), current_user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(settings, exc)
        else:
            commit()
            flash(_("The form is saved as a draft. Add its questions."), "success")
            return _builder(form)
    return render_template(
        "forms/staff/settings.html", settings=settings, form=None, kind=kind, **_labels()
    )


def _labels() -> dict:
    return {
        "kind_labels": FORM_KIND_LABELS,
        "audience_labels": AUDIENCE_LABELS,
        "locales": LOCALES,
    }


@bp.route("/event/<int:event_id>", methods=["GET", "POST"])
@roles_required("organiser")
def event_questions(event_id: int):
    """An event's registration questions: open them in the builder, or make them."""
    event = db.get_or_404(Event, event_id)
    existing = db.session.scalar(select(Form).where(Form.event_id == event.id))
    if existing is not None:
        return _builder(existing)
    action = ActionForm()
    if request.method == "POST":
        if not action.validate_on_submit():
            abort(400)
        title = _("Registration questions: %(title)s", title=event.title)
        settings = services.FormSettings(texts={_locale(): {"title": title[:200]}})
        try:
            form = services.create_form("event", settings, current_user, event=event)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("staff.forms.event_questions", event_id=event.id))
        commit()
        flash(_("Add the questions, then open them to show them on the registration."), "success")
        return _builder(form)
    return render_template("forms/staff/event.html", event=event, action=action)


@bp.get("/<int:form_id>/")
@roles_required(*BUILDER_ROLES)
def form_detail(form_id: int):
    """The builder: the questions in order, with edit, move and remove; status and results."""
    form = _form_or_404(form_id)
    return render_template(
        "forms/staff/detail.html",
        form=form,
        action=ActionForm(),
        question_form=QuestionForm(formdata=None),
        locale=_locale(),
        question_kind_labels=QUESTION_KIND_LABELS,
        status_labels=STATUS_LABELS,
        removed=[q for q in form.questions if q.removed_at is not None],
        answered=results.response_counts([form.id]).get(form.id, 0),
        **_labels(),
    )


@bp.route("/<int:form_id>/settings", methods=["GET", "POST"])
@roles_required(*BUILDER_ROLES)
def form_settings(form_id: int):
    form = _form_or_404(form_id)
    settings = _settings_form(form)
    if settings.validate_on_submit():
        try:
            services.update_settings(form, settings.settings())
        except DomainError as exc:
            db.session.rollback()
            apply_error(settings, exc)
        else:
            commit()
            flash(_("The form is saved."), "success")
            return _builder(form)
    return render_template(
        "forms/staff/settings.html", settings=settings, form=form, kind=form.kind, **_labels()
    )


def _question_page(form: Form, question: Question | None):
    qform = QuestionForm()
    if question is not None and request.method == "GET":
        qform.fill_from(question)
    if qform.validate_on_submit():
        try:
            if question is None:
                services.add_question(form, qform.fields())
            else:
                services.update_question(question, qform.fields())
        except DomainError as exc:
            db.session.rollback()
            apply_error(qform, exc)
        else:
            commit()
            flash(_("The question is saved."), "success")
            return _builder(form)
    return render_template(
        "forms/staff/question.html",
        form=form,
        question=question,
        qform=qform,
        locales=LOCALES,
        locale=_locale(),
    )


@bp.route("/<int:form_id>/questions/new", methods=["GET", "POST"])
@roles_required(*BUILDER_ROLES)
def question_new(form_id: int):
    return _question_page(_form_or_404(form_id), None)


@bp.route("/<int:form_id>/questions/<int:question_id>", methods=["GET", "POST"])
@roles_required(*BUILDER_ROLES)
def question_edit(form_id: int, question_id: int):
    form = _form_or_404(form_id)
    return _question_page(form, _question_or_404(form, question_id))


def _question_action(form_id: int, question_id: int, action):
    if not ActionForm().validate_on_submit():
        abort(400)
    form = _form_or_404(form_id)
    question = _question_or_404(form, question_id)
    message = action(question)
    commit()
    if message:
        flash(message, "success")
    return _builder(form)


@bp.post("/<int:form_id>/questions/<int:question_id>/up")
@roles_required(*BUILDER_ROLES)
def question_up(form_id: int, question_id: int):
    return _question_action(form_id, question_id, lambda q: services.move_question(q, -1))


@bp.post("/<int:form_id>/questions/<int:question_id>/down")
@roles_required(*BUILDER_ROLES)
def question_down(form_id: int, question_id: int):
    return _question_action(form_id, question_id, lambda q: services.move_question(q, 1))


@bp.post("/<int:form_id>/questions/<int:question_id>/remove")
@roles_required(*BUILDER_ROLES)
def question_remove(form_id: int, question_id: int):
    def remove(question: Question) -> str:
        if services.remove_question(question):
            return _("The question is removed from the form; its answers are kept.")
        return _("The question is removed.")

    return _question_action(form_id, question_id, remove)


@bp.post("/<int:form_id>/status/<status>")
@roles_required(*BUILDER_ROLES)
def form_status(form_id: int, status: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    form = _form_or_404(form_id)
    try:
        services.set_status(form, status)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(_("The form is saved."), "success")
    return _builder(form)


@bp.post("/<int:form_id>/delete")
@roles_required(*BUILDER_ROLES)
def form_delete(form_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    form = _form_or_404(form_id)
    try:
        services.delete_form(form)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _builder(form)
    commit()
    flash(_("The form is deleted."), "success")
    return redirect(url_for("staff.forms.form_list"), 303)


@bp.get("/<int:form_id>/results")
@roles_required(*BUILDER_ROLES)
def form_results(form_id: int):
    """Counts, distributions and averages per question, with charts and tables; free text."""
    form = _form_or_404(form_id)
    locale = _locale()
    return render_template(
        "forms/staff/results.html",
        form=form,
        summary=results.summarise(form, locale),
        locale=locale,
        status_labels=STATUS_LABELS,
    )


@bp.get("/<int:form_id>/results.<any(csv, xlsx):fmt>")
@roles_required(*BUILDER_ROLES)
def form_results_export(form_id: int, fmt: str):
    """Every response as a row, the questions as columns, in the staff member's language."""
    form = _form_or_404(form_id)
    headers, rows = results.table(form, _locale())
    return table_response(f"form-{form.id}-{form.slug}", headers, rows, fmt)
