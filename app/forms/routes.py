"""Forms and surveys people answer (/forms/<slug>)."""

from flask import Blueprint

bp = Blueprint("forms", __name__, url_prefix="/forms")
