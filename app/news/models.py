"""News posts (per-language versions, old slugs, categories, tags), pages, the front page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

POST_STATES = ("draft", "scheduled", "published")
LOCALES = ("da", "en", "is")

# ---------------------------------------------------------------------------------------------
# News posts
# ---------------------------------------------------------------------------------------------

post_categories = Table(
    "post_categories",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, nullable=False),
    Column(
        "category_id",
        ForeignKey("news_categories.id", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
        index=True,
    ),
)

post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, nullable=False),
    Column(
        "tag_id",
        ForeignKey("news_tags.id", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
        index=True,
    ),
)


class Category(db.Model):
    """A news category (a few, chosen by editors): 'Announcements', 'Events', 'Board'."""

    __tablename__ = "news_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class Tag(db.Model):
    """A free tag on news posts."""

    __tablename__ = "news_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class Post(db.Model):
    """A news post: written in one language (the original), with optional versions in others.

    Visible to readers when it is scheduled or published and its publish time has come (checked
    when the page is read, so no job has to flip the state).
    """

    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(f"state IN {POST_STATES!r}", name="known_state"),
        CheckConstraint(f"language IN {LOCALES!r}", name="known_language"),
        CheckConstraint("state = 'draft' OR publish_at IS NOT NULL", name="visible_has_time"),
        Index("ix_posts_state_publish_at", "state", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    language: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    state: Mapped[str] = mapped_column(String(12), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cover_key: Mapped[str | None] = mapped_column(String(200))
    cover_list_key: Mapped[str | None] = mapped_column(String(200))
    cover_detail_key: Mapped[str | None] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author = relationship("User")
    translations: Mapped[list[PostTranslation]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PostTranslation.locale"
    )
    categories: Mapped[list[Category]] = relationship(
        secondary=post_categories, order_by="Category.name"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, order_by="Tag.name")

    def version(self, locale: str) -> PostVersion:
        """The post in the reader's language when it has that version, else the original."""
        if locale != self.language:
            for translation in self.translations:
                if translation.locale == locale and translation.title.strip():
                    return PostVersion(
                        translation.locale, translation.title, translation.summary, translation.body
                    )
        return PostVersion(self.language, self.title, self.summary, self.body)

    def is_visible(self, now: datetime) -> bool:
        """True when readers see it: published or scheduled, and its time has come."""
        return (
            self.state in ("scheduled", "published")
            and self.publish_at is not None
            and self.publish_at <= now
        )


class PostVersion:
    """Title, summary and body in one language (what a template shows)."""

    __slots__ = ("locale", "title", "summary", "body")

    def __init__(self, locale: str, title: str, summary: str, body: str):
        self.locale, self.title, self.summary, self.body = locale, title, summary, body


class PostTranslation(db.Model):
    """A post's version in another language than its original."""

    __tablename__ = "post_translations"
    __table_args__ = (
        UniqueConstraint("post_id", "locale", name="uq_post_translations_post_locale"),
        CheckConstraint(f"locale IN {LOCALES!r}", name="known_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    post: Mapped[Post] = relationship(back_populates="translations")


class PostSlug(db.Model):
    """An earlier slug of a post, so old links redirect to the current one."""

    __tablename__ = "post_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ---------------------------------------------------------------------------------------------
# Pages (about, privacy, statutes, contact details; the front page's welcome text)
# ---------------------------------------------------------------------------------------------


class Page(db.Model):
    """A staff-editable page; its text lives in one PageText per language."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    texts: Mapped[list[PageText]] = relationship(
        back_populates="page", cascade="all, delete-orphan", order_by="PageText.locale"
    )

    def text(self, locale: str, fallback: str = "da") -> PageText | None:
        """The text in the locale when it has one, else the fallback language's, else any (a
        version with only a title loses to one with a body)."""
        order = {locale: 0, fallback: 1}
        texts = sorted(self.texts, key=lambda t: order.get(t.locale, 2))
        return next((t for t in texts if t.body.strip()), None) or next(
            (t for t in texts if t.title.strip()), None
        )


class PageText(db.Model):
    """A page's title and Markdown body in one language."""

    __tablename__ = "page_texts"
    __table_args__ = (
        UniqueConstraint("page_id", "locale", name="uq_page_texts_page_locale"),
        CheckConstraint(f"locale IN {LOCALES!r}", name="known_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")

    page: Mapped[Page] = relationship(back_populates="texts")


class FrontPage(db.Model):
    """Which blocks the front page shows (one row; its welcome text is the page 'welcome')."""

    __tablename__ = "front_page_settings"
    __table_args__ = (
        CheckConstraint("news_count BETWEEN 1 AND 12", name="news_count_range"),
        CheckConstraint("events_count BETWEEN 1 AND 12", name="events_count_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    show_events: Mapped[bool] = mapped_column(Boolean, default=True)
    show_news: Mapped[bool] = mapped_column(Boolean, default=True)
    show_polls: Mapped[bool] = mapped_column(Boolean, default=True)
    show_call_to_action: Mapped[bool] = mapped_column(Boolean, default=True)
    events_count: Mapped[int] = mapped_column(Integer, default=3)
    news_count: Mapped[int] = mapped_column(Integer, default=3)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
