"""The member file's columns: their headers in each language (export) and the header, in any
language or as its plain key, that an import recognises."""

from __future__ import annotations

import re
from functools import lru_cache

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

COLUMN_LABELS = {
    "id": _l("Member ID"),
    "status": _l("Status"),
    "full_name": _l("Full name"),
    "email": _l("E-mail address"),
    "national_id_country": _l("Country of the national ID number"),
    "national_id": _l("National ID number"),
    "birthday": _l("Birthday"),
    "gender": _l("Gender"),
    "phone": _l("Phone"),
    "secondary_email": _l("Second e-mail address"),
    "street": _l("Street"),
    "house_number": _l("House number"),
    "apartment": _l("Apartment, floor or c/o"),
    "postal_code": _l("Postal code"),
    "city": _l("City or town"),
    "municipality": _l("Municipality"),
    "region": _l("Region"),
    "country": _l("Country"),
    "job_title": _l("Job title"),
    "housing": _l("Housing"),
    "joined_on": _l("Joined on"),
    "ended_on": _l("Ended on"),
    "unions": _l("Unions"),
    "groups": _l("Groups"),
    "reachable": _l("May be contacted"),
    "groupable": _l("May be placed in groups"),
    "newsletter": _l("Newsletter"),
    "is_test": _l("Test record"),
    "language": _l("Language"),
}


def normalise_header(text: str) -> str:
    """A header as compared: lower case, spaces and underscores alike, outer spaces gone."""
    return re.sub(r"[\s_]+", " ", (text or "").replace("\ufeff", "").strip().lower())


def column_label(key: str) -> str:
    """The column's header in the current language (its key when it has no label)."""
    label = COLUMN_LABELS.get(key)
    return str(label) if label is not None else key


@lru_cache(maxsize=4)
def _header_keys(languages: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for language in languages:
        with force_locale(language):
            for key, label in COLUMN_LABELS.items():
                found.setdefault(normalise_header(str(label)), key)
    for key in COLUMN_LABELS:  # the plain keys win: "country" is a key, not a translation
        found[normalise_header(key)] = key
    return found


def header_key(text: str) -> str | None:
    """The column a header names, in any of the languages or as its key; None if unknown."""
    languages = tuple(current_app.config.get("LANGUAGES", ("da", "en", "is")))
    return _header_keys(languages).get(normalise_header(text))


@lru_cache(maxsize=4)
def _status_keys(languages: tuple[str, ...]) -> dict[str, str]:
    from app.members.lifecycle import STATUS_LABELS

    found: dict[str, str] = {}
    for language in languages:
        with force_locale(language):
            for key, label in STATUS_LABELS.items():
                found.setdefault(normalise_header(str(label)), key)
    return found


def status_key(text: str) -> str:
    """A status as written in a file: its key, or its name in any language ("Aktiv")."""
    languages = tuple(current_app.config.get("LANGUAGES", ("da", "en", "is")))
    value = normalise_header(text)
    return _status_keys(languages).get(value, value)
