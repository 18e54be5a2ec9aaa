"""The front page: the welcome, the call to action, upcoming events, latest news, open polls.

A handful of queries whatever the content (tests/test_news_front_page.py counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from app.core.glance import glance
from app.core.page_cache import kept
from app.core.timeutil import utcnow
from app.events.models import Event
from app.extensions import db
from app.members.records import is_active_member
from app.news import services
from app.news.models import Post
from app.news.pages import WELCOME, front_page_settings, get_page


@dataclass(frozen=True)
class Choices:
    """The blocks the staff chose (the settings row's values, safe to keep between requests)."""

    show_events: bool
    show_news: bool
    show_polls: bool
    show_call_to_action: bool
    events_count: int
    news_count: int


@dataclass(frozen=True)
class Welcome:
    """The welcome text in the reader's language (or the fallback's)."""

    title: str
    body: str
    locale: str


def _choices() -> Choices:
    settings = front_page_settings()
    return Choices(**{f.name: getattr(settings, f.name) for f in fields(Choices)})


def _welcome(locale: str) -> Welcome | None:
    page = get_page(WELCOME)
    text = page.text(locale, current_app.config["DEFAULT_LANGUAGE"]) if page else None
    return Welcome(text.title, text.body, text.locale) if text is not None else None


class FrontPageContent:
    """What the front page shows. The settings and the welcome are the same for everyone and
    kept like a public page (app/core/page_cache.py); the events and news are read when the
    template renders their parts, which it keeps the same way; the polls and the call to
    action are the reader's own."""

    def __init__(self, user, locale: str):
        self.user, self.locale = user, locale
        self.settings: Choices = kept(("front-page-choices",), _choices)
        self.welcome: Welcome | None = kept(
            ("front-page-welcome", locale), lambda: _welcome(locale)
        )

    @cached_property
    def events(self) -> list[Event]:
        if not self.settings.show_events:
            return []
        return list(
            db.session.scalars(
                select(Event)
                .where(Event.status == "published", Event.ends_at > utcnow())
                .order_by(Event.starts_at, Event.id)
                .limit(self.settings.events_count)
            )
        )

    @cached_property
    def posts(self) -> list[Post]:
        if not self.settings.show_news:
            return []
        return list(
            db.session.scalars(services.visible_posts(utcnow()).limit(self.settings.news_count))
        )

    @cached_property
    def polls(self) -> list:
        return _open_polls(self.user) if self.settings.show_polls else []

    @cached_property
    def is_member(self) -> bool:
        user = self.user
        if not (self.settings.show_call_to_action and user.is_authenticated):
            return False
        if user.id == current_user.id:
            # The navigation reads the membership's status anyway: no statement of its own.
            return glance("membership_status") == "active"
        return is_active_member(user)


def _open_polls(user, limit: int = 3) -> list:
    """Open polls this person may vote in (none for visitors, none without the polls domain)."""
    if "polls.index" not in current_app.view_functions or not user.is_authenticated:
        return []
    from app.polls.models import Elector, Poll

    return list(
        db.session.scalars(
            select(Poll)
            .join(Elector, Elector.poll_id == Poll.id)
            .where(Elector.user_id == user.id, Poll.status == "open")
            .order_by(Poll.closes_at.is_(None), Poll.closes_at, Poll.id)
            .limit(limit)
        )
    )


def front_page(user, locale: str) -> FrontPageContent:
    """The blocks the staff chose, each read once, and only when shown."""
    return FrontPageContent(user, locale)
