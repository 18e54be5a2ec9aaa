"""The door: volunteers' scanner pages, the redeem service and the offline bundle."""

from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/door")

from app.checkin import routes, staff  # noqa: E402,F401
