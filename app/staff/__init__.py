"""The staff area: its home and layout, users and roles, API tokens, jobs and the audit log.

Each domain's staff pages are a blueprint of its own (the domain's staff.py), nested under this
one by the application factory.
"""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from app.staff import routes, tokens  # noqa: E402,F401
