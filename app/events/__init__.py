"""Events: publishing, registration with capacity and waiting list, QR tickets."""

from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/events")
tickets_bp = Blueprint("tickets", __name__)

from app.events import routes, staff  # noqa: E402,F401
