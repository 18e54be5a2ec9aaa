"""Roles, the staff decorator, safe redirects and security headers."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter

ROLES = ("organiser", "door", "membership", "editor", "admin")
ROLE_LABELS = {
    "organiser": _l("Organiser"),
    "door": _l("Door volunteer"),
    "membership": _l("Membership staff"),
    "editor": _l("Editor (news, newsletters, pages)"),
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
            # Staff without a required second factor set one up first: the gate is the sign-in
            # domain's (app.auth.login_flow.second_factor_gate), handed over by the factory.
            gate = current_app.extensions.get("staff_gate")
            refusal = gate() if gate is not None else None
            if refusal is not None:
                return refusal
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

# Set on every answer that has not set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

# Ids are 32-bit INTEGER columns; a larger number in a URL names nothing (404), instead of
# reaching the database and failing there.
MAX_ID = 2**31 - 1

# Answers that are personal whoever asks (an API answer, a staff page, my pages) and paths
# that stay cacheable even for a signed-in person (public files, scripts and styles).
PERSONAL_PREFIXES = ("/api/", "/staff", "/account", "/members/me", "/tickets", "/t/", "/door")
PUBLIC_FILE_PREFIXES = ("/static/", "/bootstrap/", "/media/", "/door/sw.js")


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` limited to what an INTEGER column holds."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _has_nul(value: object) -> bool:
    """True when a string anywhere in a parsed JSON value (or the value itself) holds a NUL."""
    stack = [value]
    while stack:  # a loop, not recursion: deeply nested JSON is bad input, not a crash
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def request_has_nul() -> bool:
    """True when the path, a query parameter, a form field or a JSON string holds a NUL byte
    (PostgreSQL cannot store one, and no person types one)."""
    if "\x00" in request.path:
        return True
    if request.query_string and any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        return True
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            try:
                return _has_nul(request.get_json(silent=True))
            except RecursionError:  # nested deeper than the JSON parser goes
                abort(400)
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return any("\x00" in k or "\x00" in v for k, v in request.form.items(multi=True))
    return False


def is_personal(path: str) -> bool:
    """True when an answer must not be kept by browsers or proxies (Cache-Control: no-store)."""
    if path.startswith(PUBLIC_FILE_PREFIXES):
        return False
    return path.startswith(PERSONAL_PREFIXES) or bool(session.get("_user_id"))  # signed in


def init_app(app: Flask) -> None:
    """Bounded integer URLs, refusal of NUL bytes, and security headers on every response."""
    app.url_map.converters["int"] = DatabaseIntConverter

    @app.before_request
    def refuse_nul_bytes():
        if request_has_nul():
            abort(400)

    hsts = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

    @app.after_request
    def set_headers(response):
        headers = response.headers
        # The names already set, read once (each setdefault would scan every header again).
        present = {name.lower() for name, _value in headers.items()}
        if "no-store" not in headers.get("Cache-Control", "") and is_personal(request.path):
            headers["Cache-Control"] = "no-store"
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if (request.is_secure or app.config.get("SESSION_COOKIE_SECURE")) and (
            hsts[0].lower() not in present
        ):
            headers.add(*hsts)
        return response
