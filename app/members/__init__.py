"""The membership domain: member records, applications, titles, groups, privacy."""

from flask import Blueprint

bp = Blueprint("members", __name__, cli_group="members")

from app.members import cli, routes, staff, staff_groups, staff_import  # noqa: E402,F401
