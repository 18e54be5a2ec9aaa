"""National ID numbers: validation chosen by country, normalising, masking, encryption.

Add a country by writing a validator that takes the normalised value and returns it (or raises
DomainError with field "national_id"), and listing it in VALIDATORS. Other countries take free text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask_babel import lazy_gettext as _l

from app.core import crypto
from app.core.errors import DomainError

FIELD = "national_id"
HASH_PURPOSE = "national_id"
MAX_LENGTH = 40
KENNITALA_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
KENNITALA_CENTURIES = {"8": 1800, "9": 1900, "0": 2000}


def normalise(value: str | None) -> str:
    """Without spaces, hyphens and dots, upper-case: the form that is hashed and stored."""
    return re.sub(r"[\s\-.]", "", value or "").upper()


def kennitala_check_digit(first_eight: str) -> int | None:
    """The check digit for the first eight digits of a kennitala (None: no valid digit exists)."""
    remainder = sum(int(d) * w for d, w in zip(first_eight, KENNITALA_WEIGHTS, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def kennitala_birthday(value: str) -> date | None:
    """The birth date a person's kennitala encodes, or None when it is no real date."""
    if not re.fullmatch(r"\d{10}", value or ""):
        return None
    century = KENNITALA_CENTURIES.get(value[9])
    if century is None:
        return None
    try:
        return date(century + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        return None


def validate_kennitala(value: str) -> str:
    """A person's Icelandic kennitala: ten digits, a real date, the right check digit."""
    if not re.fullmatch(r"\d{10}", value):
        raise DomainError(_l("A kennitala has ten digits, like 120190-3269."), field=FIELD)
    if int(value[0:2]) > 40:
        raise DomainError(
            _l("This is a company's kennitala; a member needs a person's kennitala."), field=FIELD
        )
    if kennitala_birthday(value) is None:
        raise DomainError(_l("This kennitala does not contain a valid date."), field=FIELD)
    if kennitala_check_digit(value[:8]) != int(value[8]):
        raise DomainError(
            _l("This kennitala is not valid: its check digit is wrong. Check for typing errors."),
            field=FIELD,
        )
    return value


def validate_free_text(value: str) -> str:
    """Countries without a validator: any text of a sensible length."""
    if len(value) > MAX_LENGTH:
        raise DomainError(
            _l("A national ID number has at most %(n)d characters.", n=MAX_LENGTH), field=FIELD
        )
    if not re.fullmatch(r"[0-9A-Z/]+", value):
        raise DomainError(
            _l("A national ID number may contain only letters, digits and hyphens."), field=FIELD
        )
    return value


VALIDATORS: dict[str, Callable[[str], str]] = {"IS": validate_kennitala}


def validate(country: str, value: str) -> str:
    """The normalised national ID, checked by the validator of its country."""
    normalised = normalise(value)
    if not normalised:
        raise DomainError(_l("Enter the national ID number."), field=FIELD)
    return VALIDATORS.get((country or "").upper(), validate_free_text)(normalised)


def birthday_from(country: str, normalised: str) -> date | None:
    """The birthday a national ID encodes, where the country's numbers carry one."""
    if (country or "").upper() == "IS":
        return kennitala_birthday(normalised)
    return None


def lookup(value: str) -> str:
    """The keyed hash used for exact lookup and uniqueness."""
    return crypto.lookup_hash(normalise(value), HASH_PURPOSE)


def encrypt(normalised: str) -> str:
    return crypto.encrypt(normalised)


def decrypt(token: str | None) -> str:
    return crypto.decrypt(token) if token else ""


def display(country: str, normalised: str) -> str:
    """The number written the way people write it (120190-3269 for a kennitala)."""
    if (country or "").upper() == "IS" and len(normalised) == 10:
        return f"{normalised[:6]}-{normalised[6:]}"
    return normalised


def mask(country: str, normalised: str) -> str:
    """The number with its personal part hidden: 120190-**** for a kennitala."""
    if not normalised:
        return ""
    if (country or "").upper() == "IS" and len(normalised) == 10:
        return f"{normalised[:6]}-****"
    shown = min(6, len(normalised) // 2)
    return f"{normalised[:shown]}-****" if shown else "****"
