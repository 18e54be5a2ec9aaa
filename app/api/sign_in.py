"""Apps sign in through the API: token, refresh, revoke (app/api/app_tokens.py does the work)."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api import app_tokens
from app.api.routes import bp
from app.api.spec import errors
from app.auth import services as accounts
from app.core import ratelimit
from app.core.errors import json_error
from app.core.jobs import commit
from app.extensions import db

NO_STORE = {"Cache-Control": "no-store"}


def _app_token_limit() -> str:
    return current_app.config.get("APP_TOKEN_RATE_LIMIT", "60 per minute")


app_token_rate_limit = ratelimit.rate_limited(_app_token_limit, scope="api-app-tokens")


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    """A non-empty text of at most max_length characters (lone surrogates are refused for every
    API body before it reaches a schema: `refuse_text_that_is_not_unicode` in routes.py)."""
    checks = [
        validate.Length(min=1, error=_l("Give a text.")),
        validate.Length(max=max_length, error=_l("At most %(max)s characters.", max=max_length)),
    ]
    return fields.String(required=required, validate=checks, **kwargs)


class TokenRequest(Schema):
    email = _text(max_length=320, required=True)
    password = _text(max_length=1000, required=True)
    code = _text(
        max_length=100,
        metadata={
            "description": "The authenticator's code (or a recovery code), when the "
            "account has a second factor"
        },
    )


class RefreshRequest(Schema):
    refresh_token = _text(max_length=200, required=True)


class TokenPairSchema(Schema):
    access_token = fields.String(
        required=True, metadata={"description": "A JWT; send it as Authorization: Bearer <jwt>"}
    )
    refresh_token = fields.String(
        required=True, metadata={"description": "Opaque and single-use: /auth/refresh rotates it"}
    )
    token_type = fields.String(required=True, metadata={"description": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds"})


class RevokedSchema(Schema):
    revoked = fields.Boolean(required=True)


@bp.post("/auth/token", tags=["auth"])
@app_token_rate_limit
@errors(401, 403, 429)
@bp.arguments(TokenRequest)
@bp.response(200, TokenPairSchema)
def app_token(data: dict):
    """Sign in with e-mail and password for an access token (15 minutes) and a refresh token.

    Wrong credentials answer 401 invalid_credentials whether or not the address has an account,
    and count against the login lockout (429 locked_out). An account with a second factor needs
    `code` (401 second_factor_required without it).
    """
    try:
        user = accounts.authenticate(data["email"], data["password"], ratelimit.remote_address())
        app_tokens.check_second_factor(user, data.get("code"))
    except accounts.LoginFailed as exc:
        db.session.rollback()
        accounts.record_failed_login(data["email"], exc.reason)
        commit()
        if isinstance(exc, accounts.LockedOut):
            return json_error(429, exc.message, exc.code, headers={"Retry-After": "900"})
        if isinstance(exc, accounts.NotVerified):
            return json_error(403, exc.message, exc.code)
        # Unknown address, wrong password, closed account: one answer for all.
        return json_error(401, _("Wrong e-mail address or password."), "invalid_credentials")
    except app_tokens.SecondFactorWrong as exc:
        db.session.rollback()
        # A wrong code counts against the login lockout like a wrong password.
        accounts.count_failed_login(data["email"], ratelimit.remote_address())
        accounts.record_failed_login(data["email"], "second_factor")
        commit()
        return json_error(401, exc.message, exc.code, {"code": [str(exc.message)]})
    tokens = app_tokens.issue(user)
    commit()
    return tokens, 200, NO_STORE


@bp.post("/auth/refresh", tags=["auth"])
@app_token_rate_limit
@errors(401, 429)
@bp.arguments(RefreshRequest)
@bp.response(200, TokenPairSchema)
def app_token_refresh(data: dict):
    """Trade a refresh token for a new pair; the old one is used up.

    A refresh token used a second time revokes every token of its sign-in (401 invalid_token).
    """
    try:
        tokens = app_tokens.refresh(data["refresh_token"])
    except app_tokens.RefreshTokenReused:
        commit()  # the family's revocation stands although the answer is a refusal
        raise
    commit()
    return tokens, 200, NO_STORE


@bp.post("/auth/revoke", tags=["auth"])
@app_token_rate_limit
@errors(429)
@bp.arguments(RefreshRequest)
@bp.response(200, RevokedSchema)
def app_token_revoke(data: dict):
    """End a sign-in by its refresh token; an unknown token is answered the same (RFC 7009)."""
    app_tokens.revoke(data["refresh_token"])
    commit()
    return {"revoked": True}
