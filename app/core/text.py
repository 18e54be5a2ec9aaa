"""Text helpers that several domains need: slugs, CSV cells that a spreadsheet will not run, and
LIKE patterns that take the searched text literally."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

# Letters that NFKD does not take apart (the rest lose their accents): the Nordic and a few
# other letters, spelled the way their own languages write them in ASCII.
TRANSLITERATE = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "þ": "th", "ð": "d", "ß": "ss", "œ": "oe", "ł": "l"}
)


def slugify(text: str | None, max_length: int = 80, fallback: str = "item") -> str:
    """A readable ASCII slug: 'Årsmøde i Þórshöfn' -> 'aarsmoede-i-thorshofn'."""
    text = (text or "").lower().translate(TRANSLITERATE)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:max_length].rstrip("-") or fallback


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
# Phone numbers and signed numbers start with + or - too; they hold nothing a spreadsheet could
# call, so they stay as they are.
_NUMBERISH = re.compile(r"^[+\-]?[\d\s()./-]+$")


def csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    if _FORMULA_START.match(text) and not _NUMBERISH.match(text):
        return "'" + text
    return text


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """The text with LIKE's wildcards (% and _) and the escape character taken literally; use
    with ``escape=LIKE_ESCAPE``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching the text literally anywhere; use with ``escape=LIKE_ESCAPE``."""
    return f"%{escape_like(text)}%"
