"""The API blueprint: its rate limit, the index, the OpenAPI description and its docs page."""

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from marshmallow import Schema, fields

from app.api.auth import resolve_caller
from app.api.spec import Blueprint
from app.core import ratelimit
from app.core.errors import json_error
from app.core.http import absolute_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def api_rate_limit():
    """The API's general limit per token (per address before a token is verified); views with
    their own limit skip it."""
    if not ratelimit.has_own_limit(request.endpoint):
        resolve_caller(current_app.config["API_RATE_LIMIT"], "api")


def _not_text(value, path: str = "") -> list[str]:
    """Dotted paths of the strings in a JSON value that are not Unicode text."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return [path or "body"]
        return []
    if not isinstance(value, dict | list):
        return []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found = []
    for key, item in items:
        name = str(key) if not _not_text(str(key)) else "body"
        found += _not_text(item, f"{path}.{name}" if path else name)
    return found


@bp.before_request
def refuse_text_that_is_not_unicode():
    """A lone surrogate escape ("\\ud800") is valid JSON but no text: refused here for every
    endpoint, naming the fields, before it can fail in a hash, an e-mail or a database insert."""
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        body = request.get_data(cache=True)
        # Bytes all ASCII and none NUL decode as UTF-8 (json.loads takes no other encoding for
        # them), so a surrogate in the value can only come from a \u escape: without one, no
        # walk is needed (a check-in's body, for one).
        if body.isascii() and b"\x00" not in body and b"\\u" not in body:
            return None
        data = request.get_json(silent=True)
        paths = _not_text(data) if data is not None else []
        if paths:
            message = _("Give a text.")
            return json_error(422, message, "invalid", {path: [message] for path in paths})
    return None


class IndexSchema(Schema):
    version = fields.String(required=True)
    openapi = fields.String(required=True, metadata={"description": "This API's description"})
    docs = fields.String(required=True, metadata={"description": "The description, readable"})


@bp.get("/", tags=["about"])
@bp.response(200, IndexSchema)
def index():
    """Where the description of this API is."""
    return {
        "version": "1",
        "openapi": absolute_url("api.openapi"),
        "docs": absolute_url("api.docs"),
    }


@bp.get("/openapi.json", tags=["about"])
@bp.response(200, description="The OpenAPI 3.1 description of every endpoint")
def openapi():
    """This description, generated from the schemas the endpoints validate and answer with."""
    return jsonify(current_app.extensions["felag_api"].spec.to_dict())


@bp.get("/docs", tags=["about"])
@bp.response(200, content_type="text/html", description="Swagger UI")
def docs():
    """The description as a page to read and try (Swagger UI, served from this site)."""
    return current_app.response_class(render_template("api/docs.html"), mimetype="text/html")
