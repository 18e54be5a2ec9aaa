"""Public pages for visitors, kept briefly in memory.

A visitor who is not signed in (no session cookie, no remember cookie) sees the same front page,
events list, event page or news as every other visitor in their language. So each process keeps
such a page, rendered, for PUBLIC_PAGE_CACHE_SECONDS (10 by default; 0 turns it off) and serves
it again without its queries and templates: a rush on an event's page costs one rendering per
process every few seconds. A change committed in this process (by the ORM or by a statement of
its own) empties the cache at once; other processes follow within the seconds (as the e-mail
layout's cache does, app/core/mail_layout.py).

Only what is safe to share is kept: a 200 HTML answer to a GET of a view marked `@public_page`,
for a request without cookies of the session, that set no cookie and left the session empty.
The answer goes through the after-request hooks like any other (security headers, no cookie).

A signed-in page has parts that read the same for everyone too (the front page's settings,
welcome, events and news): `kept` keeps such a value, and `shared_part` such a part of a
template, by the same rules, so that a member's front page reads only what is theirs.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.core.fragments import key_of

MAX_PAGES = 500  # per process; the oldest goes first (query strings could otherwise grow it)
MAX_KEPT = 100  # values and parts: a few per language
# In a model's __table_args__: its rows are bookkeeping no public page shows (the outbox, sign-in
# sessions, token use), so a flush or a statement that writes only them leaves the kept pages be.
NOT_ON_PUBLIC_PAGES = {"info": {"not_on_public_pages": True}}

_pages: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()  # key: (expiry, HTML)
_kept: dict[tuple, tuple[float, Any]] = {}  # key: (expiry, value)


def public_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose answer to a visitor depends only on its address and language."""
    view.public_page = True  # type: ignore[attr-defined]
    return view


def forget() -> None:
    """Empty this process's cache (after a committed change)."""
    _pages.clear()
    _kept.clear()


def kept(key: tuple, make: Callable[[], Any]) -> Any:
    """The value under `key`, made by `make` when missing or older than
    PUBLIC_PAGE_CACHE_SECONDS (always, when that is 0). Only what reads the same for everyone,
    as plain values or HTML: never a database row, which belongs to one request's session."""
    seconds = current_app.config["PUBLIC_PAGE_CACHE_SECONDS"]
    if not seconds:
        return make()
    now = time.monotonic()
    found = _kept.get(key)
    if found is not None and now < found[0]:
        return found[1]
    value = make()
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[key] = (now + seconds, value)
    return value


@pass_context
def shared_part(context, name: str, caller: Callable[[], str]) -> Markup:
    """`{% call shared_part("name") %}...{% endcall %}`: a part of a page that reads the same
    for everyone in the language, kept as `kept` keeps values; the queries it makes (through
    lazy values) are not made while it is kept."""
    return kept(("part", *key_of(context, name)), lambda: Markup(caller()))


def _key() -> tuple | None:
    """The cache key of this request, or None when its answer must not be shared."""
    config = current_app.config
    if request.method not in ("GET", "HEAD") or not config["PUBLIC_PAGE_CACHE_SECONDS"]:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "public_page", False):
        return None
    cookies = request.cookies
    if config["SESSION_COOKIE_NAME"] in cookies or config["REMEMBER_KEY_COOKIE"] in cookies:
        return None
    from flask_babel import get_locale

    return (request.host, request.full_path, str(get_locale()))


def _serve_cached() -> Response | None:
    key = _key()
    if key is None:
        return None
    found = _pages.get(key)
    if found is not None:
        expires, body = found
        if time.monotonic() < expires:
            return Response(body, 200, mimetype="text/html")
        _pages.pop(key, None)
    g.public_page_key = key
    return None


def _keep(response: Response) -> Response:
    key = g.pop("public_page_key", None)
    if (
        key is None
        or request.method != "GET"
        or response.status_code != 200
        or response.mimetype != "text/html"
        or response.direct_passthrough
        or "Set-Cookie" in response.headers
        or session.modified
        or session
    ):
        return response
    _pages[key] = (
        time.monotonic() + current_app.config["PUBLIC_PAGE_CACHE_SECONDS"],
        response.get_data(),
    )
    while len(_pages) > MAX_PAGES:
        _pages.popitem(last=False)
    return response


def _shown(table) -> bool:
    """Whether rows of the table may be on a public page (not marked NOT_ON_PUBLIC_PAGES)."""
    return not table.info.get("not_on_public_pages")


def _note_changes(session_: Session, flush_context) -> None:
    """A flush that wrote a row of a table a public page may show is a change."""
    if any(_shown(row.__table__) for row in (*session_.new, *session_.dirty, *session_.deleted)):
        session_.info["changed"] = True


def _note_writes(state: ORMExecuteState) -> None:
    """A write by a statement of its own (a seat taken or given back) is a change as a flush is."""
    if (state.is_insert or state.is_update or state.is_delete) and _shown(state.statement.table):
        state.session.info["changed"] = True


def _forget_after_commit(session_: Session) -> None:
    if session_.info.pop("changed", False):
        forget()


def init_app(app: Flask) -> None:
    """Serve and keep public pages (before any other hook, so a kept page skips them)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_cached)
    app.after_request(_keep)
    app.jinja_env.globals["shared_part"] = shared_part
    if not event.contains(Session, "after_flush", _note_changes):
        event.listen(Session, "after_flush", _note_changes)
        event.listen(Session, "do_orm_execute", _note_writes)
        event.listen(Session, "after_commit", _forget_after_commit)
