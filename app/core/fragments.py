"""Parts of every page that read the same for everyone in one language: the footer's links, the
confirmation dialog and the scripts. A template wraps such a part in
`{% call fragment("name") %}...{% endcall %}`; it is rendered once per process, language and
organisation name, then reused (a few dozen template calls fewer on every page).
Nothing that depends on the person, the request or the data may go inside.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from jinja2 import pass_context
from markupsafe import Markup

MAX_FRAGMENTS = 200


def key_of(context, name: str) -> tuple:
    """A part's key: its name, the page's language and the organisation's name."""
    return (name, str(context["get_locale"]()), context.get("organisation"))


@pass_context
def fragment(context, name: str, caller: Callable[[], str]) -> Markup:
    kept: dict[tuple, Markup] = current_app.extensions.setdefault("fragments", {})
    key = key_of(context, name)
    found = kept.get(key)
    if found is None:
        if len(kept) >= MAX_FRAGMENTS:
            kept.clear()
        found = kept[key] = Markup(caller())
    return found


def init_app(app) -> None:
    app.jinja_env.globals["fragment"] = fragment
