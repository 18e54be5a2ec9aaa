"""Accounts: sign-up, verification, login, password reset, profile; users and roles."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")

from app.auth import routes  # noqa: E402,F401
