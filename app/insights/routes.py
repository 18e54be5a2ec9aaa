"""The public statistics page (/stats/): only aggregates every group of which counts 5 or more."""

from flask import Blueprint

bp = Blueprint("insights", __name__, url_prefix="/stats")
