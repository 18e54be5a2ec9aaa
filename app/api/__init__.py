"""The JSON API under /api/v1: token authentication, JSON errors, OpenAPI."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import checkin, members, routes  # noqa: E402,F401
