"""Locale and timezone selection, and Babel-formatted dates for templates."""

from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, format_time
from flask_login import current_user

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"da": "Dansk", "en": "English", "is": "Íslenska"}


def select_locale() -> str:
    """The user's saved language, then the language cookie, then Accept-Language, then Danish."""
    languages = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """Times are shown in the organisation's timezone."""
    return current_app.config["TIMEZONE"]


def init_app(app: Flask) -> None:
    """Template filters for dates in the current locale and timezone."""
    app.jinja_env.filters["datetime"] = lambda v, f="medium": format_datetime(v, f) if v else ""
    app.jinja_env.filters["date"] = lambda v, f="medium": format_date(v, f) if v else ""
    app.jinja_env.filters["time"] = lambda v, f="short": format_time(v, f) if v else ""
