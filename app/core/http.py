"""HTTP helpers that several domains need: absolute links, templates' links, and reading JSON
request fields."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.core.security import MAX_ID


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link on BASE_URL, the same from a request, a job or the command line.

    Built from the URL map rather than the request, so a link in an e-mail never carries the
    Host header a client sent.
    """
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


URLS_REMEMBERED = 4096


def url_for_remembered(endpoint: str, **values) -> str:
    """`url_for` through the app's remembered links (for a view's redirect on a hot path)."""
    return current_app.extensions["remembered_url_for"](endpoint, **values)


def remembered_url_for(app: Flask) -> Callable[..., str]:
    """`url_for` for templates, remembering what it built (per app, bounded).

    A page builds the same few dozen links on every request (the menu, the footer, stylesheets,
    each event's page), and werkzeug builds each one afresh. Only links whose result depends on
    nothing but the endpoint, its plain arguments and the request's script root are remembered:
    no relative endpoint (".index": the current blueprint), no `_external`, `_anchor`, `_scheme`
    or `_method`, no argument other than text or a whole number, and only in a request.
    """
    build = app.url_for
    built: dict[tuple, str] = {}

    def url_for(endpoint: str, **values) -> str:
        if (
            endpoint.startswith(".")
            or not has_request_context()
            or not all(
                not name.startswith("_") and type(value) in (str, int)
                for name, value in values.items()
            )
        ):
            return build(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        url = built.get(key)
        if url is None:
            url = build(endpoint, **values)
            if len(built) >= URLS_REMEMBERED:
                built.clear()
            built[key] = url
        return url

    return url_for


def json_id(data: dict, name: str) -> int:
    """A JSON field that must be a whole number an id column can hold, or a DomainError."""
    value = data.get(name)
    # bool is an int in Python; JSON true is not a number.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise DomainError(_l("A whole number is required."), field=name)
    return value
