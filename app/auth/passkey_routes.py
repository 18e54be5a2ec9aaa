"""Passkey pages and ceremonies: register and manage on /account/security, second factor on
/auth/2fa (and /auth/confirm), passwordless sign-in from the login page.

The ceremonies are JSON calls from app/static/js/passkeys.js (CSRF token in X-CSRFToken): one to
get the options (the challenge is kept in the session), one to send the authenticator's answer.
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import factors, login_flow, passkeys
from app.auth.passkeys import PasskeyFailed
from app.auth.reauth import recent_auth_required
from app.auth.routes import account_bp, bp
from app.auth.sign_in_forms import ActionForm, PasskeyNameForm
from app.core import audit
from app.core.errors import DomainError, json_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.extensions import db

CHALLENGE = "_passkey_challenge"


def _auth_limit():
    return current_app.config["AUTH_POST_LIMIT"]


def _keep_challenge(purpose: str, challenge: bytes) -> None:
    session[CHALLENGE] = {"purpose": purpose, "value": challenge.hex()}


def _take_challenge(purpose: str) -> bytes | None:
    """The challenge this session was given for `purpose`; gone from the session once read."""
    kept = session.pop(CHALLENGE, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        return None
    try:
        return bytes.fromhex(str(kept.get("value", "")))
    except ValueError:
        return None


def _answer() -> dict:
    """The JSON body: {"credential": {...}, ...}; anything else is a 400 with the JSON shape."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
        raise PasskeyFailed(_("The passkey answer was not understood. Try again."))
    return data


def _error(exc: DomainError):
    fields = {exc.field: [str(exc.message)]} if exc.field else None
    return json_error(exc.status, exc.message, exc.code, fields)


def _failed(exc: DomainError, challenge: bytes | None):
    """A failed ceremony: nothing of it is kept, except that its challenge is used up."""
    db.session.rollback()
    passkeys.discard_challenge(challenge)
    commit()
    return _error(exc)


def _options(purpose: str, make):
    try:
        options, challenge = make()
    except DomainError as exc:
        db.session.rollback()
        return _error(exc)
    commit()
    _keep_challenge(purpose, challenge)
    return current_app.response_class(options, mimetype="application/json")


def _security_url() -> str:
    return url_for("account.security")


# --- my passkeys (/account/security) -----------------------------------------------------------


@account_bp.post("/security/passkeys/options")
@login_required
@rate_limited(_auth_limit)
def passkey_register_options():
    user = current_user._get_current_object()
    return _options("register", lambda: passkeys.registration_options(user))


@account_bp.post("/security/passkeys")
@login_required
@rate_limited(_auth_limit)
def passkey_register():
    challenge = _take_challenge("register")
    try:
        data = _answer()
        passkey = passkeys.add_passkey(
            current_user._get_current_object(),
            data["credential"],
            challenge,
            str(data.get("name") or ""),
        )
    except DomainError as exc:
        return _failed(exc, challenge)
    commit()
    flash(_("The passkey “%(name)s” is added.", name=passkey.name), "success")
    return jsonify({"redirect": _security_url()})


@account_bp.post("/security/passkeys/<int:passkey_id>/rename")
@login_required
def passkey_rename(passkey_id: int):
    form = PasskeyNameForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("The form expired. Please send it again."), "danger")
        else:
            flash(" ".join(form.name.errors) or _("Give the passkey a name."), "danger")
        return redirect(_security_url())
    try:
        passkeys.rename_passkey(current_user._get_current_object(), passkey_id, form.name.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(_security_url())
    commit()
    flash(_("The passkey is renamed."), "success")
    return redirect(_security_url())


@account_bp.post("/security/passkeys/<int:passkey_id>/delete")
@login_required
@recent_auth_required
def passkey_delete(passkey_id: int):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Please send it again."), "danger")
        return redirect(_security_url())
    try:
        passkeys.remove_passkey(current_user._get_current_object(), passkey_id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(_security_url())
    commit()
    flash(_("The passkey is removed."), "success")
    return redirect(_security_url())


# --- passwordless sign-in (login page) ---------------------------------------------------------


@bp.post("/auth/passkey/options")
@rate_limited(_auth_limit)
def passkey_sign_in_options():
    return _options("sign_in", lambda: passkeys.sign_in_options(None))


@bp.post("/auth/passkey")
@rate_limited(_auth_limit)
def passkey_sign_in():
    """A passkey with user verification is both factors: the session starts with the second."""
    challenge = _take_challenge("sign_in")
    try:
        data = _answer()
        passkey = passkeys.verify_sign_in(data["credential"], challenge, None)
    except DomainError as exc:
        return _failed(exc, challenge)
    user = passkey.user
    audit.record(
        "auth.login",
        "user",
        user.id,
        after={"method": "passkey"},
        actor_id=user.id,
        subject_user_id=user.id,
    )
    target = login_flow.safe_next()
    login_flow.start_session(
        user, remember=data.get("remember") is True, second_factor=True, method="passkey"
    )
    commit()
    return jsonify({"redirect": target or url_for("account.home")})


# --- second factor (/auth/2fa) and re-authentication (/auth/confirm) ---------------------------


def _second_factor_user():
    """(user, signed in already): the person at /auth/confirm, or the one waiting at /auth/2fa."""
    if current_user.is_authenticated:
        return current_user._get_current_object(), True
    return login_flow.pending_user(), False


def _no_pending():
    return json_error(400, _("Your sign-in has expired. Log in again."), "sign_in_expired")


@bp.post("/auth/2fa/passkey/options")
@rate_limited(_auth_limit)
def passkey_second_factor_options():
    user, _signed_in = _second_factor_user()
    if user is None:
        return _no_pending()
    return _options("second_factor", lambda: passkeys.sign_in_options(user))


@bp.post("/auth/2fa/passkey")
@rate_limited(_auth_limit)
def passkey_second_factor():
    user, signed_in = _second_factor_user()
    if user is None:
        return _no_pending()
    challenge = _take_challenge("second_factor")
    try:
        data = _answer()
        passkeys.verify_sign_in(data["credential"], challenge, user)
    except DomainError as exc:
        return _failed(exc, challenge)
    if signed_in:
        login_flow.mark_verified(second_factor=True)
        commit()
        return jsonify({"redirect": login_flow.safe_next() or _security_url()})
    response = login_flow.finish_second_factor(user, method="passkey")
    return jsonify({"redirect": response.location})


@bp.app_template_global()
def my_passkeys() -> list:
    """The signed-in user's passkeys (account/_security_passkeys.html)."""
    return passkeys.passkeys_of(current_user) if current_user.is_authenticated else []


@bp.app_template_global()
def passkey_second_factor_ready() -> bool:
    """True when the person at /auth/2fa or /auth/confirm has a passkey to use."""
    user, _signed_in = _second_factor_user()
    return user is not None and factors.has_passkey(user)
