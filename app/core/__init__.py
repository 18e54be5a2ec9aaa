"""Cross-cutting pieces with no domain of their own, and the home, health and language routes."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from app.core import routes  # noqa: E402,F401
