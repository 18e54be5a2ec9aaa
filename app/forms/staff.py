"""Staff pages of forms and surveys (/staff/forms/...)."""

from flask import Blueprint

# Nested under the staff blueprint by the factory: /staff/forms/...
bp = Blueprint("forms", __name__, url_prefix="/forms")
