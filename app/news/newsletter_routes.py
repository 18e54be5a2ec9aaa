"""Public newsletter pages: subscribe (double opt-in), confirm, unsubscribe, the archive."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.extensions import csrf, db
from app.news import newsletter_tasks as _tasks  # noqa: F401  (registers the hourly sweep)
from app.news import newsletters
from app.news.newsletter_forms import SubscribeForm, UnsubscribeForm

bp = Blueprint("newsletter_public", __name__)


@bp.route("/newsletter/subscribe", methods=["GET", "POST"])
@rate_limited(lambda: "20 per hour", methods=("POST",))
def subscribe():
    """Anyone may ask for the newsletter; it starts once the e-mailed link is followed."""
    form = SubscribeForm()
    if form.validate_on_submit():
        try:
            newsletters.subscribe(form.email.data, str(get_locale()))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            return render_template("news/newsletters/subscribe.html", form=None, sent=True)
    return render_template("news/newsletters/subscribe.html", form=form, sent=False)


@bp.get("/newsletter/confirm/<token>")
def confirm(token: str):
    try:
        newsletters.confirm(token)
    except DomainError:
        db.session.rollback()
        return render_template("news/newsletters/confirmed.html", valid=False), 404
    commit()
    return render_template("news/newsletters/confirmed.html", valid=True)


@bp.route("/newsletter/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """No login: a GET shows a button; a POST stops the newsletter for this address.

    The RFC 8058 one-click POST (body List-Unsubscribe=One-Click) comes from a mail program
    with no CSRF token; only that exact POST skips the check, the signed token authorises it.
    """
    form = UnsubscribeForm()
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if not one_click:
            try:
                validate_csrf(request.form.get("csrf_token"))
            except (ValidationError, CSRFError):
                abort(400)
        try:
            newsletters.unsubscribe_subscriber(token)
        except DomainError:
            db.session.rollback()
            return render_template("news/newsletters/unsubscribe.html", valid=False), 404
        commit()
        if one_click:
            return "", 200
        return render_template("news/newsletters/unsubscribe.html", valid=True, done=True)
    try:
        newsletters.unsubscribe_token_check(token)
    except DomainError:
        return render_template("news/newsletters/unsubscribe.html", valid=False), 404
    return render_template("news/newsletters/unsubscribe.html", valid=True, done=False, form=form)
