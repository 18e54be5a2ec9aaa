"""Public newsletter pages: subscribe (double opt-in), confirm, unsubscribe, the archive."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import ValidationError

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.core.security import has_role
from app.extensions import csrf, db
from app.members.models import Membership
from app.news import newsletter_tasks as _tasks  # noqa: F401  (registers the hourly sweep)
from app.news import newsletters
from app.news.newsletter_forms import SubscribeForm, UnsubscribeForm
from app.news.newsletter_models import Newsletter

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
            return render_template("members/unsubscribe.html", valid=False, subscriber=True), 404
        commit()
        if one_click:
            return "", 200
        return render_template("members/unsubscribe.html", valid=True, done=True, subscriber=True)
    try:
        newsletters.unsubscribe_token_check(token)
    except DomainError:
        return render_template("members/unsubscribe.html", valid=False, subscriber=True), 404
    return render_template(
        "members/unsubscribe.html", valid=True, done=False, form=form, subscriber=True
    )


# --- the archive -------------------------------------------------------------------------------


def _archive_query():
    query = select(Newsletter).where(Newsletter.state == "sent")
    if not current_user.is_authenticated or not is_member(current_user):
        query = query.where(Newsletter.members_only.is_(False))
    return query


def is_member(user) -> bool:
    """An active member (or an editor) may read members-only newsletters."""
    if has_role(user, "editor"):
        return True
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id, Membership.status == "active"
            )
        )
        is not None
    )


@bp.get("/newsletters/")
def archive():
    """Sent newsletters, newest first (members-only ones for members)."""
    page = db.paginate(
        _archive_query()
        .options(selectinload(Newsletter.texts))
        .order_by(Newsletter.sent_at.desc(), Newsletter.id.desc()),
        per_page=20,
        error_out=False,
    )
    return render_template("news/newsletters/archive.html", page=page, locale=str(get_locale()))


@bp.get("/newsletters/<int:newsletter_id>")
def show(newsletter_id: int):
    newsletter = db.session.scalar(_archive_query().where(Newsletter.id == newsletter_id))
    if newsletter is None:
        abort(404)
    text = newsletter.text_for(str(get_locale()))
    return render_template("news/newsletters/show.html", newsletter=newsletter, text=text)
