"""The front page: the welcome, the call to action, upcoming events, latest news, open polls.

A handful of queries whatever the content (tests/test_news_front_page.py counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from app.core.glance import glance
from app.core.timeutil import utcnow
from app.events.models import Event
from app.extensions import db
from app.members.records import is_active_member
from app.news import services
from app.news.models import FrontPage, PageText, Post
from app.news.pages import WELCOME, front_page_settings, get_page


@dataclass
class FrontPageContent:
    """What the front page shows."""

    settings: FrontPage
    welcome: PageText | None = None
    events: list[Event] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    polls: list = field(default_factory=list)
    is_member: bool = False


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
    """The blocks the staff chose, each filled with one query."""
    settings = front_page_settings()
    content = FrontPageContent(settings=settings)
    page = get_page(WELCOME)
    if page is not None:
        content.welcome = page.text(locale, current_app.config["DEFAULT_LANGUAGE"])
    now = utcnow()
    if settings.show_events:
        content.events = list(
            db.session.scalars(
                select(Event)
                .where(Event.status == "published", Event.ends_at > now)
                .order_by(Event.starts_at, Event.id)
                .limit(settings.events_count)
            )
        )
    if settings.show_news:
        content.posts = list(
            db.session.scalars(services.visible_posts(now).limit(settings.news_count))
        )
    if settings.show_polls:
        content.polls = _open_polls(user)
    if settings.show_call_to_action and user.is_authenticated:
        if user.id == current_user.id:
            # The navigation reads the membership's status anyway: no statement of its own.
            content.is_member = glance("membership_status") == "active"
        else:
            content.is_member = is_active_member(user)
    return content
