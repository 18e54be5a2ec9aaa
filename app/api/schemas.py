"""Schemas every API module uses: the error shape, strict JSON fields, ids and the list contract."""

from __future__ import annotations

import functools

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.core.security import MAX_ID

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "A stable word: invalid, ..."})
    message = fields.String(required=True, metadata={"description": "In the caller's language"})
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per field (dotted paths for nested fields)"},
    )


class ErrorSchema(Schema):
    """{"error": {"code", "message", "fields"}}."""

    error = fields.Nested(ErrorDetail, required=True)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow would take "yes", 1 and "on")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class WholeNumber(fields.Integer):
    """A JSON number without a fraction (12 or 12.0, as JSON Schema's integer), never a string
    or true/false."""

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def Id(**kwargs) -> fields.Integer:  # noqa: N802 (a field factory reads like a field class)
    """A JSON whole number that an id column can hold."""
    return WholeNumber(
        validate=validate.Range(min=1, max=MAX_ID, error=_l("Give a whole number above 0.")),
        **kwargs,
    )


def Text(max_length: int | None = None, required: bool = False, **kwargs) -> fields.String:  # noqa: N802
    """A text, non-empty when required, at most max_length characters."""
    checks = []
    if required:
        checks.append(validate.Length(min=1, error=_l("Give a text.")))
    if max_length:
        checks.append(
            validate.Length(max=max_length, error=_l("At most %(max)s characters.", max=max_length))
        )
    return fields.String(required=required, validate=checks, **kwargs)


def patch_body(schema: type[Schema]) -> Schema:
    """A PATCH body: each top-level field may be left out, but a nested object or list item that
    is sent keeps its own required fields (partial=True would let those go too)."""
    return schema(partial=tuple(schema._declared_fields))


class PageArgs(Schema):
    """?limit= and ?offset= of every list."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT, error=_l("Give a limit from 1 to 1000.")),
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_ID, error=_l("Give an offset of 0 or more.")),
    )


@functools.cache
def page_of(item: type[Schema]) -> type[Schema]:
    """The list contract around a schema: count, next, previous, results."""
    name = item.__name__.removesuffix("Schema") + "Page"
    return Schema.from_dict(
        {
            "count": fields.Integer(required=True),
            "next": fields.String(required=True, allow_none=True),
            "previous": fields.String(required=True, allow_none=True),
            "results": fields.List(fields.Nested(item), required=True),
        },
        name=name,
    )


def page(results, count: int, limit: int, offset: int) -> dict:
    """A page of a list, with links to the next and previous pages on the same query."""

    def link(new_offset: int) -> str:
        args = dict(request.args)
        args.update(limit=limit, offset=new_offset)
        return url_for(request.endpoint, _external=True, **(request.view_args or {}), **args)

    return {
        "count": count,
        "next": link(offset + limit) if offset + limit < count else None,
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "results": results,
    }
