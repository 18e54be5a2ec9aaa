"""Forms and surveys people answer (/forms/<slug>)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.jobs import commit
from app.extensions import db
from app.forms import answers
from app.forms.forms import ActionForm
from app.forms.models import Form

bp = Blueprint("forms", __name__, url_prefix="/forms")

PROBLEMS = {
    "not_verified": lambda: _("Confirm your e-mail address before you answer."),
    "audience": lambda: _("This form is for members only, or for a group you are not in."),
}


@bp.route("/<slug>", methods=["GET", "POST"])
def answer(slug: str):
    """A survey or intake form: answer it once (signed in, in its audience) while it is open."""
    form = db.session.scalar(select(Form).where(Form.slug == slug[:120], Form.kind != "event"))
    if form is None or form.status == "draft":
        abort(404)
    locale = str(get_locale() or "da")
    problem = answers.audience_problem(form, current_user)
    done = answers.has_answered(form, current_user)
    action = ActionForm()
    values: dict = {}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not action.validate_on_submit():
            abort(400)
        if problem == "login":
            return redirect(url_for("auth.login", next=request.path), 303)
        raw, values = answers.from_formdata(form, request.form)
        try:
            answers.submit(form, current_user, raw, locale)
        except answers.InvalidAnswers as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("forms.answer", slug=form.slug), 303)
        else:
            commit()
            flash(_("Thank you. Your answers are saved."), "success")
            return redirect(url_for("forms.answer", slug=form.slug), 303)
    return (
        render_template(
            "forms/answer.html",
            form=form,
            locale=locale,
            problem=problem,
            problem_text=PROBLEMS[problem]() if problem in PROBLEMS else "",
            done=done,
            action=action,
            values=values,
            errors=errors,
        ),
        status,
    )
