"""Polls and elections: electorate, ballots, receipts, tallies (incl. ranked counts)."""

from flask import Blueprint

# The voter pages (app/polls/routes.py) add their views; the factory imports that module.
bp = Blueprint("polls", __name__, url_prefix="/polls")
