"""Validation of member record values: text lengths, dates, countries, e-mail and phone."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.core.timeutil import local_today
from app.members.models import MEMBERSHIP_STATUSES

TEXT_LIMITS = {
    "full_name": 200,
    "gender": 40,
    "phone": 40,
    "secondary_email": 320,
    "street": 200,
    "house_number": 20,
    "apartment": 40,
    "postal_code": 20,
    "city": 100,
    "municipality": 100,
    "region": 100,
    "job_title": 200,
    "housing": 100,
}


def _text(field: str, value: Any) -> str:
    value = ("" if value is None else str(value)).strip()
    limit = TEXT_LIMITS.get(field)
    if limit and len(value) > limit:
        raise DomainError(_l("Use at most %(n)d characters.", n=limit), field=field)
    return value


def _date(field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    try:
        if match:
            day, month, year = (int(x) for x in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(
            _l("This is not a valid date. Write it as YYYY-MM-DD or DD.MM.YYYY."), field=field
        ) from None


def clean_country(value: Any, field: str = "country") -> str:
    value = _text(field, value).upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise DomainError(_l("Choose a country."), field=field)
    return value


def clean_value(field: str, value: Any) -> Any:
    """One field of a member record, validated and normalised."""
    if field in ("birthday", "joined_on"):
        parsed = _date(field, value)
        if parsed and parsed > local_today():
            if field == "birthday":
                raise DomainError(_l("The birthday cannot be in the future."), field=field)
            raise DomainError(_l("The joining date cannot be in the future."), field=field)
        if parsed and parsed.year < 1900:
            raise DomainError(_l("This date is too far in the past."), field=field)
        return parsed
    if field in ("country", "national_id_country"):
        return clean_country(value, field)
    if field == "is_test":
        return value in (True, "1", "true", "yes", "on", 1)
    if field == "status":
        if value not in MEMBERSHIP_STATUSES:
            raise DomainError(_l("Unknown status."), field=field)
        return value
    text = _text(field, value)
    if field == "full_name" and not text:
        raise DomainError(_l("Enter the full name."), field=field)
    if field == "secondary_email" and text:
        try:
            text = validate_email(text, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise DomainError(_l("This is not a valid e-mail address."), field=field) from None
    if field == "phone" and text and not re.fullmatch(r"\+?[\d\s\-()./]{3,40}", text):
        raise DomainError(
            _l("A phone number may contain digits, spaces, +, - and brackets."), field=field
        )
    return text


def default_country() -> str:
    """The organisation's country (DEFAULT_COUNTRY): addresses and national IDs start there."""
    config = current_app.config
    return config.get("DEFAULT_COUNTRY") or config.get("MEMBERSHIP_DEFAULT_COUNTRY") or "DK"
