"""Token authentication for the API: never the session cookie."""

from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from app.api.services import token_user
from app.core.errors import json_error
from app.core.security import has_role


def _key_from_header() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and key.strip():
        return key.strip()
    return None


def token_required(*roles: str):
    """Require a valid token whose user holds one of the roles (none listed: any user)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = _key_from_header()
            user = token_user(key) if key else None
            if user is None:
                return json_error(
                    401,
                    _("A valid API token is required."),
                    headers={"WWW-Authenticate": 'Token realm="api"'},
                )
            if roles and not has_role(user, *roles):
                return json_error(403, _("This token's user does not have the required role."))
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator
