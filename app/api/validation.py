"""Request validation errors in the API's contract: every field named, in the caller's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError

# marshmallow's own messages (English only), as our catalogs say them. Messages we give our
# validators are lazy strings already.
MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Unknown field.": _l("Unknown field."),
    "Field may not be null.": _l("This field may not be null."),
    "Invalid input type.": _l("Give a JSON object."),
    "Invalid type.": _l("This value has the wrong type."),
    "Invalid value.": _l("This value is not valid."),
    "Not a valid string.": _l("Give a text."),
    "Not a valid integer.": _l("Give a whole number."),
    "Not a valid number.": _l("Give a number."),
    "Number too large.": _l("Give a whole number above 0."),
    "Not a valid boolean.": _l("Give true or false."),
    "Not a valid list.": _l("Give a list."),
    "Not a valid mapping type.": _l("Give a JSON object."),
    "Not a valid date.": _l("Give a date as YYYY-MM-DD."),
    "Not a valid datetime.": _l("Give an ISO 8601 time with a timezone."),
    "Not a valid aware datetime.": _l("Give an ISO 8601 time with a timezone."),
    "Not a valid email address.": _l("Give a valid e-mail address."),
    "Not a valid utf-8 string.": _l("Give a text."),
}


class InvalidRequest(DomainError):
    """A request whose parameters or body break the endpoint's schema (422, all fields named)."""

    def __init__(self, fields: dict[str, list[str]]):
        first = next(iter(fields.values()), [_("The request could not be processed.")])
        super().__init__(first[0])
        self.fields = fields


def _say(message) -> str:
    text = str(message)
    return str(MARSHMALLOW_MESSAGES.get(text, text))


def error_fields(messages: dict) -> dict[str, list[str]]:
    """webargs' {"json": {"a": {"0": {"b": [...]}}}} as {"a.0.b": [...]}, translated."""
    flat: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path and key != "_schema" else path or str(key))
        elif isinstance(node, list | tuple):
            if all(isinstance(item, dict) for item in node) and node:
                for item in node:
                    walk(item, path)
            else:
                flat.setdefault(path or "_schema", []).extend(_say(m) for m in node)
        else:
            flat.setdefault(path or "_schema", []).append(_say(node))

    for location_errors in messages.values():  # by location: json, query, view_args
        walk(location_errors, "")
    return flat
