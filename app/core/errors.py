"""Domain errors and the error pages / JSON errors that answer them."""

import logging

from flask import Flask, current_app, jsonify, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, SecurityError

from app.core.audit import record_refusal
from app.extensions import db

log = logging.getLogger(__name__)

ERROR_TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("The upload is too large"),
    422: _l("The request could not be processed"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
}
ERROR_TEXTS = {
    400: _l("The request was not understood. Go back and try again."),
    401: _l("You need to log in to see this page."),
    403: _l("You do not have access to this page."),
    404: _l("We could not find that page. It may have been moved or removed."),
    405: _l("This address does not accept that kind of request."),
    409: _l("The request conflicts with the current state. Reload and try again."),
    413: _l("The file you sent is larger than we accept."),
    422: _l("The request could not be processed."),
    429: _l("You have made too many requests. Wait a little and try again."),
    500: _l(
        "An unexpected error happened on our side. It has been logged; please try again later."
    ),
}
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


class DomainError(Exception):
    """A request that cannot be done; the message is translatable and shown to the user."""

    status = 422
    code = "invalid"

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


def wants_json() -> bool:
    """True for API paths: they always answer JSON."""
    return request.path.startswith("/api/")


def json_error(status: int, message=None, code: str | None = None, fields=None, headers=None):
    """The API error contract: {"error": {"code", "message", "fields"}}."""
    body = {
        "error": {
            "code": code or API_CODES.get(status, "error"),
            "message": str(message or ERROR_TITLES.get(status, "Error")),
            "fields": fields or {},
        }
    }
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def rollback_session() -> None:
    """Roll the request's database session back, so that the error page can still read the
    signed-in user (a failed flush or statement leaves the session unusable until then)."""
    try:
        db.session.rollback()
    except Exception:  # a dead connection: the page is rendered without it
        log.warning("Rollback before the error page failed", exc_info=True)


def _bare_page(status: int, headers=None):
    """A page that needs no URLs: the request's host is not trusted, so none can be built."""
    shown = status if status in ERROR_TITLES else 500
    title = escape(str(ERROR_TITLES[shown]))
    text = escape(str(ERROR_TEXTS[shown]))
    try:
        lang = escape(str(get_locale()))
    except Exception:  # no usable locale: the page is still answered
        lang = "da"
    html = (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><p>{text}</p></html>"
    )
    return html, status, {"Content-Type": "text/html; charset=utf-8", **(headers or {})}


def _error_page(status: int, headers=None):
    shown = status if status in ERROR_TITLES else 500
    if shown >= 500:
        rollback_session()
    try:
        html = render_template(
            "errors/error.html",
            status=status,
            title=ERROR_TITLES[shown],
            text=ERROR_TEXTS[shown],
        )
    except Exception:
        if shown < 500:
            raise
        # The page itself failed (the database is gone, so the header cannot read the user):
        # still a translated page, never the server's bare text.
        log.warning("The error page could not be rendered; answered with the bare page")
        return _bare_page(status, headers)
    return html, status, headers or {}


def retry_after(exc: HTTPException) -> int:
    """Seconds until the limit that was hit lets the next request through (app/core/ratelimit)."""
    return getattr(exc, "retry_after", None) or 60


def _audit_refusal() -> None:
    record_refusal()


def _slash_twin(path: str) -> str | None:
    """The same path without its trailing slash, when that is a page; else None."""
    if not path.endswith("/") or path == "/" or "//" in path:
        return None
    twin = path.rstrip("/")
    try:
        current_app.create_url_adapter(request).match(twin, method="GET")
    except HTTPException:  # NotFound, MethodNotAllowed, or a routing redirect
        return None
    return twin


def register_error_handlers(app: Flask) -> None:
    """HTML pages for people, JSON for /api/."""

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        if status == 404 and request.method in ("GET", "HEAD") and not wants_json():
            twin = _slash_twin(request.path)
            if twin:  # /account/ -> /account (Werkzeug already sends /events to /events/)
                query = request.query_string.decode("latin-1")
                return redirect(twin + (f"?{query}" if query else ""), 308)
        if status >= 500:
            rollback_session()
        if status == 403:
            _audit_refusal()
        headers = {}
        if status == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 429:
            headers["Retry-After"] = str(retry_after(exc))
        if wants_json():
            return json_error(status, ERROR_TITLES.get(status, exc.name), headers=headers)
        if isinstance(exc, SecurityError):
            return _bare_page(status, headers)
        return _error_page(status, headers)

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def handle_out_of_range(exc: Exception):
        # A value the database cannot hold (an integer beyond its range, a NUL in text) is bad
        # input, not a fault of ours: a 400 without a stack trace in the log.
        rollback_session()
        log.info(
            "Refused a value the database cannot store on %s %s", request.method, request.endpoint
        )
        if wants_json():
            return json_error(400, _("A value in the request is out of range."))
        return _error_page(400)

    @app.errorhandler(DomainError)
    def handle_domain(exc: DomainError):
        if exc.status == 403:
            _audit_refusal()
        if wants_json():
            fields = getattr(exc, "fields", None)  # every field of a schema's validation
            if fields is None and exc.field:
                fields = {exc.field: [str(exc.message)]}
            return json_error(exc.status, exc.message, exc.code, fields)
        return _error_page(exc.status)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        rollback_session()
        if wants_json():
            return json_error(500)
        return _error_page(500)
