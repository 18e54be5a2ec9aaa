"""Apps sign in through the API: token, refresh, revoke (app/api/app_tokens.py does the work)."""

from flask import current_app, jsonify
from flask_babel import gettext as _

from app.api import app_tokens
from app.api.routes import bp, json_body
from app.auth import services as accounts
from app.core import ratelimit
from app.core.errors import json_error
from app.core.jobs import commit
from app.extensions import db


def _app_token_limit() -> str:
    return current_app.config.get("APP_TOKEN_RATE_LIMIT", "60 per minute")


app_token_rate_limit = ratelimit.rate_limited(_app_token_limit, scope="api-app-tokens")


@bp.post("/auth/token")
@app_token_rate_limit
def app_token():
    """Sign in with e-mail and password (and `code` with a second factor) for a token pair."""
    data = json_body()
    fields = _fields(data, ("email", "password"), ("code",))
    if isinstance(fields, tuple):
        return fields[1]
    try:
        user = accounts.authenticate(
            fields["email"], fields["password"], ratelimit.remote_address()
        )
        app_tokens.check_second_factor(user, fields["code"])
    except accounts.LoginFailed as exc:
        db.session.rollback()
        accounts.record_failed_login(fields["email"], exc.reason)
        commit()
        if isinstance(exc, accounts.LockedOut):
            return json_error(429, exc.message, exc.code, headers={"Retry-After": "900"})
        if isinstance(exc, accounts.NotVerified):
            return json_error(403, exc.message, exc.code)
        # Unknown address, wrong password, closed account: one answer for all.
        return json_error(401, _("Wrong e-mail address or password."), "invalid_credentials")
    except app_tokens.SecondFactorWrong:
        db.session.rollback()
        # A wrong code counts against the login lockout like a wrong password.
        accounts.count_failed_login(fields["email"], ratelimit.remote_address())
        accounts.record_failed_login(fields["email"], "second_factor")
        commit()
        return json_error(401, _("The code is wrong or has expired."), "invalid_credentials")
    tokens = app_tokens.issue(user)
    commit()
    return jsonify(tokens), 200, {"Cache-Control": "no-store"}


@bp.post("/auth/refresh")
@app_token_rate_limit
def app_token_refresh():
    """Trade a refresh token (used up) for a new pair."""
    data = json_body()
    fields = _fields(data, ("refresh_token",))
    if isinstance(fields, tuple):
        return fields[1]
    try:
        tokens = app_tokens.refresh(fields["refresh_token"])
    except app_tokens.RefreshTokenReused:
        commit()  # the family's revocation stands although the answer is a refusal
        raise
    commit()
    return jsonify(tokens), 200, {"Cache-Control": "no-store"}


@bp.post("/auth/revoke")
@app_token_rate_limit
def app_token_revoke():
    """End a sign-in by its refresh token; an unknown token is answered the same (RFC 7009)."""
    data = json_body()
    fields = _fields(data, ("refresh_token",))
    if isinstance(fields, tuple):
        return fields[1]
    app_tokens.revoke(fields["refresh_token"])
    commit()
    return jsonify({"revoked": True})


def _fields(data: dict, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    """The named string fields, or (None, a 422 answer naming every bad field)."""
    values, problems = {}, {}
    for name in required + optional:
        value = data.get(name)
        if value is None and name in optional:
            values[name] = None
        elif not isinstance(value, str) or not value.strip() or len(value) > 1000:
            problems[name] = [_("Enter a value.")]
        else:
            values[name] = value
    if problems:
        return None, json_error(422, _("Check the marked fields."), "invalid", problems)
    return values
