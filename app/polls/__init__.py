"""Polls and elections: electorate, ballots, receipts, tallies (incl. ranked counts)."""

from flask import Blueprint

bp = Blueprint("polls", __name__, url_prefix="/polls")

from app.polls import routes  # noqa: E402,F401
