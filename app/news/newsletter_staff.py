"""Staff pages for newsletters (role editor; admins too): write, preview, test, send, progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core import mail_layout
from app.core.dates import format_date
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.i18n import LANGUAGE_NAMES
from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.mail_message import render_mail
from app.core.security import roles_required
from app.events.models import Event
from app.extensions import db
from app.members.models import Group
from app.news import newsletter_sending, newsletters
from app.news.models import LOCALES, Post
from app.news.newsletter_forms import ActionForm, MailLayoutForm, NewsletterForm
from app.news.newsletter_models import Newsletter

# Nested under the staff blueprint by the factory: /staff/newsletters/...
bp = Blueprint("newsletters", __name__, url_prefix="/newsletters")
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _form(newsletter: Newsletter | None = None) -> NewsletterForm:
    form = NewsletterForm()
    form.language.choices = list(LANGUAGE_NAMES.items())
    form.audience.choices = [(k, str(v)) for k, v in newsletters.AUDIENCE_LABELS.items()]
    form.group_id.choices = [("", "—")] + [
        (g.id, g.name) for g in db.session.scalars(select(Group).order_by(Group.name))
    ]
    form.event_id.choices = [("", "—")] + [
        (e.id, f"{e.title} ({format_date(e.starts_at)})")
        for e in db.session.scalars(select(Event).order_by(Event.starts_at.desc()).limit(100))
    ]
    if request.method == "GET":
        if newsletter is None:
            form.language.data = current_user.locale if current_user.locale in LOCALES else "da"
        else:
            form.language.data, form.audience.data = newsletter.language, newsletter.audience
            form.group_id.data, form.event_id.data = newsletter.group_id, newsletter.event_id
            form.required_notice.data = newsletter.required_notice
            form.members_only.data = newsletter.members_only
            for text in newsletter.texts:
                getattr(form, f"subject_{text.locale}").data = text.subject
                getattr(form, f"body_{text.locale}").data = text.body
    return form


def _save(form: NewsletterForm, newsletter: Newsletter | None) -> Newsletter:
    return newsletters.save_newsletter(
        newsletter,
        language=form.language.data,
        texts=form.texts(),
        audience=form.audience.data,
        group_id=form.group_id.data,
        event_id=form.event_id.data,
        required_notice=form.required_notice.data,
        members_only=form.members_only.data,
        actor_id=current_user.id,
    )


@bp.get("/")
@roles_required("editor")
def newsletter_list():
    page = db.paginate(
        select(Newsletter).order_by(Newsletter.created_at.desc(), Newsletter.id.desc()),
        per_page=25,
        error_out=False,
    )
    return render_template(
        "news/newsletters/staff_list.html",
        page=page,
        audience_labels=newsletters.AUDIENCE_LABELS,
        progress=newsletters.progress_of([n for n in page.items if n.state != "draft"]),
        posts=db.session.scalars(select(Post).order_by(Post.id.desc()).limit(30)).all(),
        action_form=ActionForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("editor")
def newsletter_new():
    form = _form()
    if form.validate_on_submit():
        try:
            newsletter = _save(form, None)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(
                _("The newsletter is saved. Preview it, send yourself a test, then send it."),
                "success",
            )
            return redirect(url_for(".newsletter_detail", newsletter_id=newsletter.id))
    return render_template("news/newsletters/staff_form.html", form=form, newsletter=None)


@bp.post("/from-post")
@roles_required("editor")
def newsletter_from_post():
    """Start a newsletter from a news post (its texts in every language it has)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    post = db.get_or_404(Post, request.form.get("post_id", 0, type=int))
    newsletter = newsletters.from_post(post, current_user.id)
    commit()
    return redirect(url_for(".newsletter_edit", newsletter_id=newsletter.id))


@bp.route("/<int:newsletter_id>/edit", methods=["GET", "POST"])
@roles_required("editor")
def newsletter_edit(newsletter_id: int):
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    if newsletter.state != "draft":
        return redirect(url_for(".newsletter_detail", newsletter_id=newsletter.id))
    form = _form(newsletter)
    if form.validate_on_submit():
        try:
            _save(form, newsletter)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The newsletter is saved."), "success")
            return redirect(url_for(".newsletter_detail", newsletter_id=newsletter.id))
    return render_template("news/newsletters/staff_form.html", form=form, newsletter=newsletter)


@bp.get("/<int:newsletter_id>")
@roles_required("editor")
def newsletter_detail(newsletter_id: int):
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    return render_template(
        "news/newsletters/staff_detail.html",
        newsletter=newsletter,
        audience_labels=newsletters.AUDIENCE_LABELS,
        audience_count=newsletter_sending.audience_count(newsletter),
        progress=newsletters.progress(newsletter),
        language_names=LANGUAGE_NAMES,
        action_form=ActionForm(),
    )


@bp.get("/<int:newsletter_id>/preview/<locale>")
@roles_required("editor")
def newsletter_preview(newsletter_id: int, locale: str):
    """The e-mail as a recipient in this language gets it (HTML, or ?format=text)."""
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    if locale not in LOCALES:
        abort(404)
    message = OutboxMessage(
        locale=locale,
        template="newsletter",
        context=newsletter_sending.mail_context(newsletter, locale),
    )
    subject, text, html = render_mail(message)
    if request.args.get("format") == "text":
        return text, 200, {"Content-Type": "text/plain; charset=utf-8"}
    # The e-mail's own inline styles must apply as in a mail program; no script may run.
    return html, 200, {"Content-Security-Policy": PREVIEW_CSP}


@bp.post("/<int:newsletter_id>/test")
@roles_required("editor")
def newsletter_test(newsletter_id: int):
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    locale = request.form.get("locale")
    newsletters.send_test(newsletter, current_user, locale if locale in LOCALES else None)
    commit()
    flash(_("A test is on its way to %(email)s.", email=current_user.email), "success")
    return redirect(url_for(".newsletter_detail", newsletter_id=newsletter.id))


@bp.post("/<int:newsletter_id>/send")
@roles_required("editor")
def newsletter_send(newsletter_id: int):
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        newsletters.start_sending(newsletter, current_user.id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(_("The newsletter is being sent."), "success")
    return redirect(url_for(".newsletter_detail", newsletter_id=newsletter_id))


@bp.post("/<int:newsletter_id>/delete")
@roles_required("editor")
def newsletter_delete(newsletter_id: int):
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        newsletters.delete_draft(newsletter)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".newsletter_detail", newsletter_id=newsletter_id))
    commit()
    flash(_("The draft is deleted."), "info")
    return redirect(url_for(".newsletter_list"))


@bp.get("/<int:newsletter_id>/progress.json")
@roles_required("editor")
def newsletter_progress(newsletter_id: int):
    """Counts for the progress bar (polled by static/js/newsletter-progress.js)."""
    newsletter = db.get_or_404(Newsletter, newsletter_id)
    return jsonify(newsletters.progress(newsletter))


@bp.route("/layout", methods=["GET", "POST"])
@roles_required("editor")
def mail_layout_settings():
    """The name, colour and logo every e-mail Félag sends is dressed in."""
    form = MailLayoutForm()
    row = db.session.scalar(select(mail_layout.MailLayout).limit(1))
    if request.method == "GET":
        form.name.data = row.name if row else ""
        form.colour.data = row.colour if row else mail_layout.DEFAULT_COLOUR
    if form.validate_on_submit():
        upload = form.logo.data
        logo = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            mail_layout.save_layout(
                form.name.data, form.colour.data, logo, remove_logo=form.remove_logo.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            mail_layout.forget()
            flash(_("The e-mail layout is saved."), "success")
            return redirect(url_for(".mail_layout_settings"))
    return render_template(
        "news/newsletters/staff_layout.html", form=form, layout=mail_layout.current_layout()
    )
