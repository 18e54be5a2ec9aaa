"""Locale and timezone selection, and Babel-formatted dates for templates."""

from datetime import timedelta
from functools import lru_cache

from babel import Locale
from flask import Flask, current_app, request, url_for
from flask_babel import format_decimal, format_timedelta, get_translations
from flask_login import current_user
from jinja2 import pass_context

from app.core import audit_text, dates

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"da": "Dansk", "en": "English", "is": "Íslenska"}


def select_locale() -> Locale:
    """The user's saved language, then the language cookie, then Accept-Language, then the
    organisation's DEFAULT_LANGUAGE."""
    languages = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return _locale(current_user.locale)
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return _locale(cookie)
    return _locale(
        request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LANGUAGE"]
    )


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    """Parsed once per process (Flask-Babel would parse the code again on every request)."""
    return Locale.parse(code)


def select_timezone() -> str:
    """Times are shown in the organisation's timezone."""
    return current_app.config["TIMEZONE"]


def language_links() -> list[tuple[str, str, str]]:
    """(code, name, switch URL back to this page) per language, for the menu and the footer."""
    here = request.full_path
    return [
        (code, name, url_for("core.language", code=code, next=here))
        for code, name in LANGUAGE_NAMES.items()
    ]


def _catalog(context) -> object:
    """The catalog a context processor put into the template's context when rendering began.

    Flask-Babel's own template gettext looks the catalog up for every string (three walks
    through `g`, the locale formatted as a string: a tenth of the home page's time); choosing it
    once per render keeps `force_locale` working (e-mails in the recipient's language). A macro
    imported without the context looks it up.
    """
    return context.get("translations_catalog") or get_translations()


def init_app(app: Flask) -> None:
    """Template gettext from the catalog chosen once per render; filters for dates in the
    current locale and timezone."""
    app.jinja_env.install_gettext_callables(
        gettext=pass_context(lambda c, s: _catalog(c).ugettext(s)),
        ngettext=pass_context(lambda c, s, p, n: _catalog(c).ungettext(s, p, n)),
        newstyle=True,
        pgettext=pass_context(lambda c, ctx, s: _catalog(c).upgettext(ctx, s)),
        npgettext=pass_context(lambda c, ctx, s, p, n: _catalog(c).unpgettext(ctx, s, p, n)),
    )
    app.context_processor(lambda: {"translations_catalog": get_translations()})
    app.jinja_env.globals["language_links"] = language_links
    # Dates without seconds or timezone names, English in day-month order (app/core/dates.py).
    app.jinja_env.filters["datetime"] = dates.format_datetime
    app.jinja_env.filters["date"] = dates.format_date
    app.jinja_env.filters["time"] = dates.format_time
    app.jinja_env.filters["span"] = dates.format_span
    # The audit log as sentences with readable fields (app/core/audit_text.py).
    app.jinja_env.globals["audit_sentence"] = audit_text.sentence
    app.jinja_env.globals["audit_changes"] = audit_text.changes
    app.jinja_env.filters["number"] = lambda v: format_decimal(v or 0)
    # Seconds as "3 minutes", in the reader's language.
    app.jinja_env.filters["duration"] = lambda v: format_timedelta(
        timedelta(seconds=v or 0), threshold=1.1
    )
