"""Staff pages of webhooks (/staff/webhooks/...), for admins."""

from flask import Blueprint

# Nested under the staff blueprint by the factory: /staff/webhooks/...
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
