"""Staff pages for news, pages and the front page (role editor; admins too)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.i18n import LANGUAGE_NAMES
from app.core.jobs import commit
from app.core.markdown import render_markdown
from app.core.security import roles_required
from app.core.timeutil import utcnow
from app.events.forms import to_local, to_utc
from app.extensions import db
from app.news import pages, services
from app.news.forms import (
    ActionForm,
    FrontPageForm,
    PageTextForm,
    PostForm,
    PublishForm,
    TranslationForm,
)
from app.news.models import LOCALES, Post

# Nested under the staff blueprint by the factory: /staff/news/... and /staff/pages/...
bp = Blueprint("news", __name__, url_prefix="/news")
pages_bp = Blueprint("pages", __name__, url_prefix="/pages")

STATE_LABELS = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "published": _l("Published"),
}


@bp.app_context_processor
def post_state_helper():
    def post_state(post: Post) -> str:
        """The state a reader would notice: a scheduled post whose time has come is published."""
        if post.state != "draft" and post.is_visible(utcnow()):
            return "published"
        return post.state

    return {"post_state": post_state, "post_state_labels": STATE_LABELS}


def _cover(form: PostForm) -> bytes | None:
    upload = form.cover.data
    if upload and getattr(upload, "filename", ""):
        return upload.read()
    return None


@bp.get("/")
@roles_required("editor")
def posts():
    query = request.args.get("q", "").strip()[:100]
    state = request.args.get("state")
    if state not in STATE_LABELS:
        state = None
    page = db.paginate(services.search_posts(query, state), per_page=25, error_out=False)
    return render_template("staff/news/list.html", page=page, q=query, state=state)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("editor")
def post_new():
    form = PostForm()
    if request.method == "GET":
        form.language.data = current_user.locale if current_user.locale in LOCALES else "da"
    if form.validate_on_submit():
        try:
            post = services.create_post(form.fields_data(), current_user, _cover(form))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The post is saved as a draft. Publish it when it is ready."), "success")
            return redirect(url_for("staff.news.post_edit", post_id=post.id))
    return render_template("staff/news/form.html", form=form, post=None)


def _edit_context(post: Post, form: PostForm) -> dict:
    publish_form = PublishForm()
    if post.state == "scheduled" and post.publish_at and not publish_form.publish_at.data:
        publish_form.publish_at.data = to_local(post.publish_at)
    return {
        "form": form,
        "post": post,
        "publish_form": publish_form,
        "action_form": ActionForm(),
        "other_locales": [code for code in LOCALES if code != post.language],
        "language_names": LANGUAGE_NAMES,
    }


@bp.route("/<int:post_id>/edit", methods=["GET", "POST"])
@roles_required("editor")
def post_edit(post_id: int):
    post = db.get_or_404(Post, post_id)
    form = PostForm()
    if request.method == "GET":
        form.fill_from(post)
    if form.validate_on_submit():
        try:
            services.update_post(post, form.fields_data(), current_user, _cover(form))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The post is saved."), "success")
            return redirect(url_for("staff.news.post_edit", post_id=post.id))
    return render_template("staff/news/form.html", **_edit_context(post, form))


@bp.route("/<int:post_id>/translations/<locale>", methods=["GET", "POST"])
@roles_required("editor")
def post_translation(post_id: int, locale: str):
    """The post's version in another language (its own tab)."""
    post = db.get_or_404(Post, post_id)
    if locale not in LOCALES:
        abort(404)
    if locale == post.language:
        return redirect(url_for("staff.news.post_edit", post_id=post.id))
    current = next((t for t in post.translations if t.locale == locale), None)
    form = TranslationForm(obj=current)
    if form.validate_on_submit():
        try:
            services.save_translation(
                post, locale, form.title.data or "", form.summary.data or "", form.body.data or ""
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The version in %(language)s is saved.", language=LANGUAGE_NAMES[locale]))
            return redirect(url_for("staff.news.post_translation", post_id=post.id, locale=locale))
    return render_template(
        "staff/news/translation.html",
        form=form,
        post=post,
        locale=locale,
        other_locales=[code for code in LOCALES if code != post.language],
        language_names=LANGUAGE_NAMES,
    )


@bp.post("/<int:post_id>/publish")
@roles_required("editor")
def post_publish(post_id: int):
    """Publish now, or schedule when a later time is given."""
    post = db.get_or_404(Post, post_id)
    form = PublishForm()
    if not form.validate_on_submit():
        flash(_("Give the time as a date and a time."), "danger")
        return redirect(url_for("staff.news.post_edit", post_id=post.id))
    try:
        services.publish(post, to_utc(form.publish_at.data))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        if post.state == "scheduled":
            flash(_("The post is scheduled: readers see it from the time you chose."), "success")
        else:
            flash(_("The post is published."), "success")
    return redirect(url_for("staff.news.post_edit", post_id=post.id))


@bp.post("/<int:post_id>/unpublish")
@roles_required("editor")
def post_unpublish(post_id: int):
    return _action(post_id, services.unpublish, _("The post is a draft again."))


@bp.post("/<int:post_id>/delete")
@roles_required("editor")
def post_delete(post_id: int):
    return _action(post_id, services.delete_post, _("The post is deleted."), "staff.news.posts")


def _action(post_id: int, action, message: str, endpoint: str = "staff.news.post_edit"):
    if not ActionForm().validate_on_submit():
        abort(400)
    post = db.get_or_404(Post, post_id)
    try:
        action(post)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("staff.news.post_edit", post_id=post_id))
    commit()
    flash(message, "success")
    return redirect(
        url_for(endpoint, post_id=post_id) if endpoint.endswith("edit") else url_for(endpoint)
    )


@bp.post("/preview")
@roles_required("editor", "organiser")  # organisers use the editor for event descriptions
def preview():
    """The editor's preview: Markdown rendered and sanitised exactly as readers will get it."""
    text = request.form.get("text", "")[:200_000]
    return render_markdown(text), 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.post("/images")
@roles_required("editor", "organiser")
def image_upload():
    """An image for a text, uploaded from the editor (EasyMDE's JSON answer)."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return jsonify(error=_("Choose an image.")), 400
    try:
        url = services.upload_body_image(upload.read())
    except DomainError as exc:
        db.session.rollback()
        return jsonify(error=str(exc.message)), 400
    commit()
    return jsonify(data={"filePath": url})


@bp.route("/front-page", methods=["GET", "POST"])
@roles_required("editor")
def front_page():
    """Which blocks the front page shows; its welcome text is edited as the page 'welcome'."""
    settings = pages.front_page_settings()
    form = FrontPageForm(obj=settings)
    if form.validate_on_submit():
        values = {
            name: getattr(form, name).data for name in (*pages.BLOCKS, "events_count", "news_count")
        }
        try:
            pages.save_front_page(values, current_user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The front page is saved."), "success")
            return redirect(url_for("staff.news.front_page"))
    return render_template("staff/news/front_page.html", form=form)


@pages_bp.get("/")
@roles_required("editor")
def page_list():
    return render_template(
        "staff/pages/list.html", pages=pages.all_pages(), language_names=LANGUAGE_NAMES
    )


@pages_bp.route("/<slug>/<locale>", methods=["GET", "POST"])
@roles_required("editor")
def page_edit(slug: str, locale: str):
    """A page's title and text in one language (a tab per language)."""
    page = pages.get_page(slug)
    if page is None or locale not in LOCALES:
        abort(404)
    current = next((t for t in page.texts if t.locale == locale), None)
    form = PageTextForm(obj=current)
    if form.validate_on_submit():
        try:
            pages.save_page_text(
                page, locale, form.title.data or "", form.body.data or "", current_user
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The page is saved."), "success")
            return redirect(url_for("staff.pages.page_edit", slug=slug, locale=locale))
    return render_template(
        "staff/pages/form.html",
        form=form,
        page=page,
        locale=locale,
        locales=LOCALES,
        language_names=LANGUAGE_NAMES,
        is_welcome=page.slug == pages.WELCOME,
    )
