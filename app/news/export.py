"""The news part of the personal data export (/account/data.json): posts and pages by me."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.news.models import Page, Post


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user: User) -> dict:
    """Posts this person wrote and pages they last changed (as an editor)."""
    posts = db.session.scalars(
        select(Post).where(Post.author_id == user.id).order_by(Post.id)
    ).all()
    pages = db.session.scalars(
        select(Page).where(Page.updated_by_id == user.id).order_by(Page.id)
    ).all()
    return {
        "posts_written": [
            {
                "id": p.id,
                "title": p.title,
                "state": p.state,
                "publish_at": _iso(p.publish_at),
                "created_at": _iso(p.created_at),
            }
            for p in posts
        ],
        "pages_edited": [{"page": p.slug, "updated_at": _iso(p.updated_at)} for p in pages],
    }
