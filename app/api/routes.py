"""API endpoints of the foundation: who am I, and the OpenAPI description."""

from flask import Blueprint, current_app, g, jsonify, request, url_for

from app.api.auth import resolve_caller, token_required
from app.api.openapi import build_spec
from app.core import ratelimit
from app.core.errors import DomainError, json_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@bp.before_request
def api_rate_limit():
    """The API's general limit per token (per address before a token is verified); views with
    their own limit skip it."""
    if not ratelimit.has_own_limit(request.endpoint):
        resolve_caller(current_app.config["API_RATE_LIMIT"], "api")


def page_params() -> tuple[int, int]:
    """?limit= (default 100, max 1000) and ?offset=, validated."""
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        limit, offset = -1, -1
    if not (1 <= limit <= MAX_LIMIT) or offset < 0:
        raise DomainError("limit must be 1-1000 and offset 0 or more", field="limit")
    return limit, offset


def page_response(results: list, count: int, limit: int, offset: int):
    """The list contract: count, next, previous, results."""

    def link(new_offset):
        args = dict(request.args)
        args.update(limit=limit, offset=new_offset)
        return url_for(request.endpoint, _external=True, **(request.view_args or {}), **args)

    return jsonify(
        {
            "count": count,
            "next": link(offset + limit) if offset + limit < count else None,
            "previous": link(max(offset - limit, 0)) if offset > 0 else None,
            "results": results,
        }
    )


def json_body() -> dict:
    """The request's JSON object, or a 400 JSON error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        from werkzeug.exceptions import BadRequest

        raise BadRequest()
    return data


@bp.get("/me")
@token_required()
def me():
    user = g.api_user
    return jsonify(
        {"id": user.id, "name": user.name, "email": user.email, "roles": sorted(user.role_names)}
    )


@bp.get("/openapi.json")
def openapi():
    return jsonify(build_spec(current_app))


@bp.route("/", defaults={"path": ""})
@bp.route("/<path:path>")
def not_found(path: str):
    return json_error(404)
