"""At a glance: the few numbers the navigation and my page show the person signed in.

Each domain names what it contributes (unread conversations, upcoming tickets, polls waiting for
a vote, the membership's status) as a scalar subquery for a user id. The first template that asks
for one reads them all in one statement, once per request: a signed-in page pays one round trip
for its badges and cards instead of one per domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_login import current_user
from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, select

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

Item = Callable[[ColumnElement, ColumnElement], ScalarSelect]
_ITEMS: dict[str, Item] = {}
_statement: tuple[tuple[str, ...], Select] | None = None


def item(name: str) -> Callable[[Item], Item]:
    """Register a domain's scalar subquery under a name. It is given two bound parameters, the
    user's id and the time now, so the statement is built once per process."""

    def register(build: Item) -> Item:
        _ITEMS[name] = build
        return build

    return register


def glance(name: str) -> Any:
    """The value named, for the person signed in (None for a visitor or an unknown name)."""
    if not current_user.is_authenticated:
        return None
    values = g.get("glance")
    if values is None:
        values = g.glance = _read(current_user.id)
    return values.get(name)


def _built() -> tuple[tuple[str, ...], Select]:
    global _statement
    names = tuple(_ITEMS)
    if _statement is None or _statement[0] != names:
        user_id = bindparam("glance_user_id")
        now = bindparam("glance_now", type_=UTCDateTime)
        _statement = (names, select(*(_ITEMS[n](user_id, now).label(n) for n in names)))
    return _statement


def _read(user_id: int) -> dict[str, Any]:
    if not _ITEMS:
        return {}
    names, statement = _built()
    row = db.session.execute(statement, {"glance_user_id": user_id, "glance_now": utcnow()}).one()
    return dict(zip(names, row, strict=True))
