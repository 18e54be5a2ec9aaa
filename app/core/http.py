"""HTTP helpers that several domains need: absolute links and reading JSON request fields."""

from __future__ import annotations

from flask import current_app
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


def json_id(data: dict, name: str) -> int:
    """A JSON field that must be a whole number an id column can hold, or a DomainError."""
    value = data.get(name)
    # bool is an int in Python; JSON true is not a number.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise DomainError(_l("A whole number is required."), field=name)
    return value
