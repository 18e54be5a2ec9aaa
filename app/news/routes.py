"""Public pages: the news list and a post, the Atom feed, and the staff-editable pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.core.http import absolute_url
from app.core.markdown import markdown_to_text, render_markdown
from app.core.page_cache import public_page
from app.core.security import has_role
from app.core.storage import get_storage
from app.core.timeutil import utcnow
from app.extensions import db
from app.news import services
from app.news.models import Category, Post, Tag
from app.news.pages import FOOTER_LABELS, FOOTER_PAGES, get_page

bp = Blueprint("news", __name__, url_prefix="/news")
pages_bp = Blueprint("pages", __name__, url_prefix="/pages")

PER_PAGE = 10
FEED_SIZE = 20


def cover_url(post: Post, size: str = "list") -> str | None:
    """The cover at a size (the original until the resize job has made it)."""
    key = getattr(post, f"cover_{size}_key") or post.cover_key
    return get_storage().url("public", key) if key else None


@bp.app_context_processor
def news_helpers():
    return {
        "post_cover_url": cover_url,
        "render_markdown": render_markdown,
        "footer_pages": FOOTER_LABELS,
    }


def _label(model, slug: str | None):
    if not slug:
        return None
    label = db.session.scalar(db.select(model).where(model.slug == slug))
    if label is None:
        abort(404)
    return label


@bp.get("/")
@public_page
def index():
    """Published posts, newest first; filter by category and tag."""
    category = _label(Category, request.args.get("category", "")[:80])
    tag = _label(Tag, request.args.get("tag", "")[:80])
    page = db.paginate(
        services.filtered_posts(category.slug if category else None, tag.slug if tag else None),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "news/index.html",
        page=page,
        category=category,
        tag=tag,
        categories=services.used_categories(),
        locale=str(get_locale()),
    )


@bp.get("/<slug>")
@public_page
def detail(slug: str):
    """A post in the reader's language (else its original); an old slug redirects."""
    post, moved = services.find_post(slug[:120], drafts=has_role(current_user, "editor"))
    if post is None:
        abort(404)
    if moved:
        return redirect(url_for("news.detail", slug=post.slug), 301)
    version = post.version(str(get_locale()))
    description = version.summary or markdown_to_text(version.body, limit=200)
    return render_template(
        "news/detail.html",
        post=post,
        version=version,
        description=description,
        canonical=absolute_url("news.detail", slug=post.slug),
        image_url=cover_url(post, "detail"),
        hidden=not post.is_visible(utcnow()),
    )


@bp.get("/feed.xml")
def feed():
    """An Atom feed of the latest posts, in the reader's language where a version exists."""
    from feedgen.feed import FeedGenerator

    locale = str(get_locale())
    posts = db.session.scalars(
        services.visible_posts().limit(FEED_SIZE).options(selectinload(Post.author))
    ).all()
    organisation = current_app.config["ORGANISATION_NAME"]
    generator = FeedGenerator()
    generator.id(absolute_url("news.index"))
    generator.title(_("News from %(name)s", name=organisation))
    generator.author({"name": organisation})
    generator.link(href=absolute_url("news.index"), rel="alternate")
    generator.link(href=absolute_url("news.feed"), rel="self")
    generator.language(locale)
    generator.updated(max((p.updated_at for p in posts), default=None) or _epoch())
    for post in reversed(posts):  # feedgen puts the last added first
        version = post.version(locale)
        url = absolute_url("news.detail", slug=post.slug)
        entry = generator.add_entry()
        entry.id(url)
        entry.title(version.title)
        entry.link(href=url, rel="alternate")
        entry.published(post.publish_at)
        entry.updated(max(post.updated_at, post.publish_at))
        if version.summary:
            entry.summary(version.summary)
        entry.content(str(render_markdown(version.body)), type="html")
        if post.author is not None:
            entry.author({"name": post.author.name})
    response = make_response(generator.atom_str(pretty=False))
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    return response


def _epoch():
    from datetime import UTC, datetime

    return datetime(2020, 1, 1, tzinfo=UTC)


@pages_bp.get("/<slug>")
@public_page
def page(slug: str):
    """A staff-editable page in the reader's language (else Danish, else any)."""
    if slug not in FOOTER_PAGES:
        abort(404)
    found = get_page(slug)
    if found is None:
        abort(404)
    text = found.text(str(get_locale()), current_app.config["DEFAULT_LANGUAGE"])
    return render_template(
        "news/page.html",
        page=found,
        text=text,
        canonical=absolute_url("pages.page", slug=slug),
    )
