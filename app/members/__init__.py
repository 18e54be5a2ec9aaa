"""The membership domain: member records, applications, titles, groups, privacy."""

from flask import Blueprint

bp = Blueprint("members", __name__)
