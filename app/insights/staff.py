"""Staff statistics pages (/staff/stats/...)."""

from flask import Blueprint

# Nested under the staff blueprint by the factory: /staff/stats/...
bp = Blueprint("stats", __name__, url_prefix="/stats")
