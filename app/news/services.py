"""News posts for editors: write, translate, schedule, publish, unpublish; what readers see.

Services validate, change the session and flush; routes commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.auth.services import check_image
from app.core import audit
from app.core.errors import Conflict, DomainError
from app.core.jobs import enqueue_after_commit
from app.core.storage import get_storage, new_key, store
from app.core.text import LIKE_ESCAPE, contains_pattern, slugify
from app.core.timeutil import utcnow
from app.core.unique import add_once, is_unique_violation
from app.extensions import db
from app.news.models import (
    LOCALES,
    POST_STATES,
    Category,
    Post,
    PostSlug,
    PostTranslation,
    Tag,
    post_categories,
    post_tags,
)

COVER_MAX_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
MAX_LABELS = 10


@dataclass
class PostFields:
    """What an editor enters for a post (in its original language)."""

    title: str
    body: str = ""
    summary: str = ""
    language: str = "da"
    slug: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def split_labels(text: str | None) -> list[str]:
    """Category or tag names from a comma-separated field, trimmed, without repeats."""
    seen: dict[str, str] = {}
    for name in (text or "").split(","):
        name = " ".join(name.split())[:80]
        if name and slugify(name, fallback="") and slugify(name) not in seen:
            seen[slugify(name)] = name
    return list(seen.values())


def _validate(data: PostFields, post: Post | None = None) -> None:
    if not data.title:
        raise DomainError(_l("Give the post a title."), field="title")
    if len(data.title) > 200:
        raise DomainError(_l("The title is longer than 200 characters."), field="title")
    if len(data.summary) > 500:
        raise DomainError(_l("The summary is longer than 500 characters."), field="summary")
    if data.language not in LOCALES:
        raise DomainError(_l("Choose a language."), field="language")
    if data.slug and (slugify(data.slug, fallback="") != data.slug or len(data.slug) > 120):
        raise DomainError(_l("Use only lowercase letters a-z, digits and hyphens."), field="slug")
    if len(data.categories) > MAX_LABELS or len(data.tags) > MAX_LABELS:
        raise DomainError(_l("Use at most 10 categories and 10 tags."), field="tags")


def _labels(model: type[Category] | type[Tag], names: list[str]) -> list:
    """The categories or tags with these names; new ones are created."""
    found = []
    for name in names:
        slug = slugify(name, max_length=80)
        label = db.session.scalar(select(model).where(model.slug == slug))
        if label is None:
            label = model(slug=slug, name=name)
            # Two editors adding the same new tag at once: the second uses the first one's row.
            if not add_once(label):
                label = db.session.scalar(select(model).where(model.slug == slug))
        found.append(label)
    return found


def _slug_taken(slug: str, post: Post | None) -> bool:
    stmt = select(Post.id).where(Post.slug == slug)
    if post is not None and post.id is not None:
        stmt = stmt.where(Post.id != post.id)
    return db.session.scalar(stmt) is not None


def _free_slug(wanted: str, post: Post | None) -> str:
    """The wanted slug, or with -2, -3 ... when another post has it."""
    slug, n = wanted, 1
    while _slug_taken(slug, post):
        n += 1
        slug = f"{wanted[:110]}-{n}"
    return slug


def _set_slug(post: Post, data: PostFields) -> None:
    """Choose the slug; a published post keeps its slug unless the editor types a new one, and
    the old slug keeps working as a redirect."""
    old = post.slug
    if data.slug:
        if _slug_taken(data.slug, post):
            raise DomainError(_l("Another post already uses this address."), field="slug")
        new = data.slug
    elif old and post.state != "draft":
        new = old  # stable once readers may have it
    else:
        new = _free_slug(slugify(data.title, max_length=100, fallback="post"), post)
    if new == old:
        return
    # The new address is this post's now, even if it was an old address of another post.
    db.session.execute(delete(PostSlug).where(PostSlug.slug == new))
    post.slug = new
    if old:
        db.session.add(PostSlug(post_id=post.id, slug=old))


def _save_slug(post: Post, data: PostFields) -> None:
    """Choose the address and write the post in a savepoint: another editor taking the same
    address a moment earlier is a form error (the unique index decides), not a server error."""
    try:
        with db.session.begin_nested():
            _set_slug(post, data)
            db.session.add(post)
            db.session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise DomainError(
            _l("Another post took this address a moment ago. Save again for a new one."),
            field="slug",
        ) from None


def check_cover(data: bytes) -> str:
    """The extension of a real image judged by its content (not its name)."""
    if len(data) > COVER_MAX_BYTES:
        raise DomainError(_l("The image is larger than 5 MB."), field="cover")
    try:
        return check_image(data)
    except DomainError as exc:
        raise DomainError(exc.message, field="cover") from None


def _upload_cover(data: bytes) -> str:
    extension = check_cover(data)
    return store("public", new_key("news", extension), data, IMAGE_TYPES[extension])


def upload_body_image(data: bytes) -> str:
    """Store an image for a post's or page's text; returns its public URL for the Markdown."""
    extension = check_cover(data)
    key = store("public", new_key("news/body", extension), data, IMAGE_TYPES[extension])
    return get_storage().url("public", key)


def _use_cover(post: Post, key: str) -> None:
    from app.news.tasks import resize_post_cover

    post.cover_key = key
    post.cover_list_key = post.cover_detail_key = None
    enqueue_after_commit(resize_post_cover, post.id, key)


def _snapshot(post: Post) -> dict[str, Any]:
    return {
        "title": post.title,
        "slug": post.slug,
        "language": post.language,
        "state": post.state,
        "publish_at": post.publish_at.isoformat() if post.publish_at else None,
        "categories": [c.name for c in post.categories],
        "tags": [t.name for t in post.tags],
        "body_length": len(post.body or ""),
    }


def _strip(data: PostFields) -> PostFields:
    data.title, data.summary = data.title.strip(), data.summary.strip()
    data.slug, data.body = data.slug.strip(), data.body.replace("\r\n", "\n").strip()
    return data


def create_post(data: PostFields, actor, cover: bytes | None = None) -> Post:
    """A new draft post by the actor."""
    data = _strip(data)
    _validate(data)
    cover_key = _upload_cover(cover) if cover else None
    post = Post(
        title=data.title,
        summary=data.summary,
        body=data.body,
        language=data.language,
        state="draft",
        author_id=getattr(actor, "id", None),
        slug="",
    )
    post.categories = _labels(Category, data.categories)
    post.tags = _labels(Tag, data.tags)
    _save_slug(post, data)
    if cover_key:
        _use_cover(post, cover_key)
    audit.record("post.created", "post", post.id, after=_snapshot(post))
    return post


def update_post(post: Post, data: PostFields, actor=None, cover: bytes | None = None) -> Post:
    """Save an editor's changes to the original version."""
    data = _strip(data)
    _validate(data, post)
    cover_key = _upload_cover(cover) if cover else None
    before = _snapshot(post)
    post.title, post.summary, post.body = data.title, data.summary, data.body
    if data.language != post.language:
        if any(t.locale == data.language for t in post.translations):
            raise DomainError(
                _l("There is already a version in that language; remove it first."),
                field="language",
            )
        post.language = data.language
    post.categories = _labels(Category, data.categories)
    post.tags = _labels(Tag, data.tags)
    _save_slug(post, data)
    if cover_key:
        _use_cover(post, cover_key)
    after = _snapshot(post)
    if before != after:
        audit.record("post.updated", "post", post.id, before=before, after=after)
    return post


def save_translation(post: Post, locale: str, title: str, summary: str, body: str) -> None:
    """Add, change or (with an empty title and body) remove the post's version in a language."""
    if locale not in LOCALES or locale == post.language:
        raise DomainError(_l("Choose another language than the original."), field="locale")
    title, summary, body = title.strip(), summary.strip(), body.replace("\r\n", "\n").strip()
    current = next((t for t in post.translations if t.locale == locale), None)
    if not title and not body:
        if current is not None:
            post.translations.remove(current)
            audit.record("post.translation_removed", "post", post.id, after={"locale": locale})
        return
    if not title:
        raise DomainError(_l("Give the post a title."), field="title")
    if len(title) > 200:
        raise DomainError(_l("The title is longer than 200 characters."), field="title")
    if len(summary) > 500:
        raise DomainError(_l("The summary is longer than 500 characters."), field="summary")
    if current is None:
        current = PostTranslation(locale=locale, title=title, summary=summary, body=body)
        post.translations.append(current)
    else:
        current.title, current.summary, current.body = title, summary, body
    db.session.flush()
    audit.record("post.translated", "post", post.id, after={"locale": locale})


def publish(post: Post, at: datetime | None = None) -> None:
    """Publish now, or schedule for a later time (readers see it when the time comes)."""
    now = utcnow()
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if at is not None and at > now:
        post.state, post.publish_at = "scheduled", at
        audit.record("post.scheduled", "post", post.id, after={"publish_at": at.isoformat()})
        return
    if post.is_visible(now):
        raise Conflict(_l("The post is already published."))
    post.state, post.publish_at = "published", now
    audit.record("post.published", "post", post.id)


def unpublish(post: Post) -> None:
    """Take a post (published or scheduled) back to a draft."""
    if post.state == "draft":
        raise Conflict(_l("The post is already a draft."))
    post.state = "draft"
    audit.record("post.unpublished", "post", post.id)


def delete_post(post: Post) -> None:
    """Remove a draft for good (published posts are unpublished instead)."""
    if post.state != "draft":
        raise Conflict(_l("Unpublish the post before you delete it."))
    audit.record("post.deleted", "post", post.id, before={"title": post.title})
    db.session.delete(post)


# ---------------------------------------------------------------------------------------------
# What readers see
# ---------------------------------------------------------------------------------------------


def visible_posts(now: datetime | None = None) -> Select:
    """Published posts and scheduled ones whose time has come, newest first."""
    now = now or utcnow()
    return (
        select(Post)
        .where(Post.state.in_(("scheduled", "published")), Post.publish_at <= now)
        .order_by(Post.publish_at.desc(), Post.id.desc())
        .options(selectinload(Post.translations))
    )


def filtered_posts(category: str | None = None, tag: str | None = None) -> Select:
    """Visible posts in a category and/or with a tag (by slug)."""
    stmt = visible_posts()
    if category:
        stmt = stmt.where(
            Post.id.in_(
                select(post_categories.c.post_id)
                .join(Category, Category.id == post_categories.c.category_id)
                .where(Category.slug == category)
            )
        )
    if tag:
        stmt = stmt.where(
            Post.id.in_(
                select(post_tags.c.post_id)
                .join(Tag, Tag.id == post_tags.c.tag_id)
                .where(Tag.slug == tag)
            )
        )
    return stmt.options(selectinload(Post.categories), selectinload(Post.tags))


def find_post(slug: str, drafts: bool = False) -> tuple[Post | None, bool]:
    """The visible post at a slug (any post with `drafts`, for editors' previews), and whether
    the slug is an old one (to redirect)."""
    now = utcnow()
    post = db.session.scalar(select(Post).where(Post.slug == slug))
    moved = False
    if post is None:
        post = db.session.scalar(
            select(Post).join(PostSlug, PostSlug.post_id == Post.id).where(PostSlug.slug == slug)
        )
        moved = post is not None
    if post is None or not (drafts or post.is_visible(now)):
        return None, False
    return post, moved


def used_categories() -> list[Category]:
    """Categories that at least one visible post has (for the filter)."""
    visible = visible_posts().with_only_columns(Post.id).order_by(None)
    return list(
        db.session.scalars(
            select(Category)
            .join(post_categories, post_categories.c.category_id == Category.id)
            .where(post_categories.c.post_id.in_(visible))
            .distinct()
            .order_by(Category.name)
        )
    )


def search_posts(query: str | None = None, state: str | None = None) -> Select:
    """Posts for the editors' list, newest first."""
    stmt = select(Post).order_by(Post.updated_at.desc(), Post.id.desc())
    if query:
        like = contains_pattern(query.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(Post.title).like(like, escape=LIKE_ESCAPE),
                func.lower(Post.slug).like(like, escape=LIKE_ESCAPE),
            )
        )
    if state == "scheduled":
        stmt = stmt.where(Post.state == "scheduled", Post.publish_at > utcnow())
    elif state == "published":
        stmt = stmt.where(Post.state.in_(("scheduled", "published")), Post.publish_at <= utcnow())
    elif state in POST_STATES:
        stmt = stmt.where(Post.state == state)
    return stmt.options(selectinload(Post.translations), selectinload(Post.author))
