"""The JSON API under /api/v1: token authentication, JSON errors, OpenAPI."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import routes, staff  # noqa: E402,F401
