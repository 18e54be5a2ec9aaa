"""Roles, the staff decorator, safe redirects and security headers."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

ROLES = ("organiser", "door", "membership", "admin")
ROLE_LABELS = {
    "organiser": _l("Organiser"),
    "door": _l("Door volunteer"),
    "membership": _l("Membership staff"),
    "admin": _l("Administrator"),
}


def has_role(user, *roles: str) -> bool:
    """True when the user holds any of the roles; admin implies all."""
    if not getattr(user, "is_authenticated", False):
        return False
    held = user.role_names
    return "admin" in held or any(role in held for role in roles)


def roles_required(*roles: str):
    """Allow a route only to signed-in users holding one of the roles (admin always)."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from app.extensions import login

            if not current_user.is_authenticated:
                return login.unauthorized()
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def staff_required(view):
    """Any staff role may pass (the staff home)."""
    return roles_required(*ROLES)(view)


def is_safe_next(target: str | None) -> bool:
    """Only local paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


CSP = (
    "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'; worker-src 'self'; "
    "manifest-src 'self'"
)


def init_app(app: Flask) -> None:
    """Security headers on every response."""

    @app.after_request
    def set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
