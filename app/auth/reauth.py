"""Re-authentication for sensitive actions: the password or a second factor again after
REAUTH_MINUTES (page /auth/confirm?next=)."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import sessions
from app.core.security import is_safe_next
from app.core.timeutil import utcnow


def recently_verified() -> bool:
    """True when this session checked the password or a second factor within REAUTH_MINUTES."""
    row = sessions.current()
    limit = timedelta(minutes=current_app.config["REAUTH_MINUTES"])
    return row is not None and utcnow() - row.verified_at <= limit


def _return_to() -> str | None:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    # After a refused POST, back to the page that held the form, to send it again.
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return target if is_safe_next(target) else None


def recent_auth_required(view=None, *, methods: tuple[str, ...] | None = None):
    """Ask again for the password or a second factor when the last check is too old (only for
    `methods` when given: a page may be read freely while its form's POST is sensitive)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from app.extensions import login

            if methods is None or request.method in methods:
                if not current_user.is_authenticated:
                    return login.unauthorized()
                if not recently_verified():
                    flash(_("Confirm it is you to go on."), "info")
                    return redirect(url_for("auth.confirm", next=_return_to()))
            return view(*args, **kwargs)

        wrapped.needs_recent_auth = methods or True
        return wrapped

    return decorator(view) if view is not None else decorator
