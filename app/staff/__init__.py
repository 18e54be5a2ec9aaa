"""The staff area: its home and layout; each domain adds its staff routes in its own staff.py."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from app.staff import routes  # noqa: E402,F401
