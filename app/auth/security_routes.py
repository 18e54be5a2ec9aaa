"""The second step at login (/auth/2fa), re-authentication (/auth/confirm) and my security page
(/account/security: sessions, password, TOTP)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import access, account_deletion, email_change, login_flow, services, sessions, totp
from app.auth.factors import has_passkey
from app.auth.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    DeleteAccountForm,
    EmailChangeForm,
    PasswordConfirmForm,
    TotpConfirmForm,
)
from app.auth.models import SignInSession
from app.auth.passwords import verify_password
from app.auth.reauth import recent_auth_required
from app.auth.routes import account_bp, bp
from app.auth.sign_in_methods import has_password
from app.core import audit, ratelimit
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.extensions import db


def _auth_limit():
    return current_app.config["AUTH_POST_LIMIT"]


def _locked(user_id: int) -> bool:
    lockout = ratelimit.item(current_app.config["LOGIN_LOCKOUT"])
    return not ratelimit.test(lockout, "second-factor-failures", str(user_id))


def _count_failure(user_id: int, action: str) -> None:
    lockout = ratelimit.item(current_app.config["LOGIN_LOCKOUT"])
    ratelimit.hit(lockout, "second-factor-failures", str(user_id))
    audit.record(action, "user", user_id, subject_user_id=user_id)
    commit()


def _locked_message() -> str:
    return _("Too many failed attempts. Wait 15 minutes and try again.")


@bp.route("/auth/2fa", methods=["GET", "POST"])
@ratelimit.rate_limited(_auth_limit, methods=("POST",))
def second_factor():
    """After the password: a code from the app or a recovery code (passkeys add their part)."""
    user = login_flow.pending_user()
    if user is None:
        flash(_("Log in again, please."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if _locked(user.id):
            form.code.errors = [_locked_message()]
        else:
            try:
                kind = totp.verify_code(user, form.code.data)
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc)
                _count_failure(user.id, "auth.second_factor_failed")
            else:
                if kind == "recovery":
                    flash(_("You used a recovery code; each works once."), "warning")
                return login_flow.finish_second_factor(user, method=kind)
    uses_code = user.totp_confirmed_at is not None  # else a passkey is the second factor
    page = render_template("auth/second_factor.html", form=form, uses_code=uses_code)
    return page, 422 if form.errors else 200


@bp.route("/auth/confirm", methods=["GET", "POST"])
@login_required
@ratelimit.rate_limited(_auth_limit, methods=("POST",))
def confirm():
    """Prove it is you again: a second factor when you have one, else the password."""
    target = login_flow.safe_next()
    # A code from the app when TOTP is on; else the password, and a passkey beside either.
    uses_code = current_user.totp_confirmed_at is not None
    if not uses_code and not has_password(current_user):
        # An account made by single sign-on has no password: a second factor is the way.
        passkey_only = has_passkey(current_user)
        return render_template(
            "auth/confirm.html", form=None, uses_code=False, passkey_only=passkey_only
        )
    form = CodeForm() if uses_code else PasswordConfirmForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        field = form.code if uses_code else form.password
        if _locked(user.id):
            field.errors = [_locked_message()]
        else:
            if uses_code:
                try:
                    totp.verify_code(user, form.code.data)
                    passed = True
                except DomainError as exc:
                    db.session.rollback()
                    apply_error(form, exc)
                    passed = False
            else:
                passed = verify_password(user.password_hash, form.password.data)
                if not passed:
                    field.errors = [_("The password is wrong.")]
            if passed:
                login_flow.mark_verified(second_factor=uses_code)
                commit()
                return redirect(target or url_for("account.security"))
            _count_failure(user.id, "auth.reauth_failed")
    status = 422 if form.errors else 200
    return render_template("auth/confirm.html", form=form, uses_code=uses_code), status


@account_bp.get("/security")
@login_required
def security():
    """My sign-in security: password, second factors, sessions (passkeys, providers add parts)."""
    return _security_page(ChangePasswordForm(prefix="pw"))


def _security_page(password_form, status: int = 200):
    return (
        render_template(
            "account/security.html",
            password_form=password_form,
            action_form=ActionForm(),
            sessions=sessions.sessions_of(current_user.id),
            current_session=sessions.current(),
            has_totp=current_user.totp_confirmed_at is not None,
            recovery_left=totp.remaining_recovery_codes(current_user),
        ),
        status,
    )


@account_bp.post("/password")
@login_required
def change_password():
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(
                user, password_form.current_password.data, password_form.password.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(password_form, exc)
        else:
            access.end_other_access(user, keep=sessions.current())
            login_flow.mark_verified()
            commit()
            flash(_("Your password is changed. You were logged out everywhere else."), "success")
            return redirect(url_for("account.security"))
    return _security_page(password_form, 422)


@account_bp.post("/security/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = db.session.get(SignInSession, session_id)
    if row is None or row.user_id != current_user.id or row.kind != "session":
        abort(404)
    current = sessions.current()
    if current is not None and current.id == row.id:
        abort(400)  # ending this one is logging out
    sessions.end_session(row.id)
    commit()
    flash(_("The session is ended."), "success")
    return redirect(url_for("account.security"))


@account_bp.post("/security/sessions/end-others")
@login_required
def end_other_sessions():
    if not ActionForm().validate_on_submit():
        abort(400)
    sessions.end_all(current_user.id, keep=sessions.current())
    commit()
    flash(_("You are logged out everywhere else."), "success")
    return redirect(url_for("account.security"))


@account_bp.route("/security/totp", methods=["GET", "POST"])
@login_required
def totp_setup():
    """Set up an authenticator app: QR code, the key as text, a first code; recovery codes."""
    user = current_user._get_current_object()
    target = login_flow.safe_next()
    if user.totp_confirmed_at is not None:
        return render_template(
            "account/totp.html",
            enabled=True,
            disable_form=ActionForm(),
            recovery_left=totp.remaining_recovery_codes(user),
        )
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            codes = totp.confirm_setup(user, form.code.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            login_flow.mark_verified(second_factor=True)
            commit()
            return render_template("account/recovery_codes.html", codes=codes, target=target)
    secret = totp.start_setup(user)
    commit()
    uri = totp.provisioning_uri(user, secret)
    return render_template(
        "account/totp.html",
        enabled=False,
        form=form,
        secret=secret,
        qr=totp.qr_data_uri(uri),
    ), 422 if form.errors else 200


@account_bp.post("/security/totp/disable")
@login_required
@recent_auth_required
def totp_disable():
    if not ActionForm().validate_on_submit():
        abort(400)
    totp.disable(current_user._get_current_object())
    commit()
    flash(_("The authenticator app is turned off."), "success")
    return redirect(url_for("account.security"))


@account_bp.post("/security/recovery-codes")
@login_required
@recent_auth_required
def recovery_codes_renew():
    if not ActionForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    if user.totp_confirmed_at is None:
        abort(404)
    codes = totp.new_recovery_codes(user)
    commit()
    return render_template("account/recovery_codes.html", codes=codes, target=None)


@account_bp.route("/email", methods=["GET", "POST"])
@login_required
@ratelimit.rate_limited(_auth_limit, methods=("POST",))
def change_email():
    """Change my address: my password, then a link to the new address that makes the change."""
    form = EmailChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if _locked(user.id):
            form.password.errors = [_locked_message()]
        else:
            try:
                new_email = email_change.request_change(user, form.email.data, form.password.data)
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc)
                if exc.field == "password":
                    _count_failure(user.id, "auth.reauth_failed")
            else:
                login_flow.mark_verified()
                commit()
                return render_template("account/email_sent.html", email=new_email)
    return render_template("account/email.html", form=form), 422 if form.errors else 200


@account_bp.get("/email/confirm/<token>")
def confirm_email(token: str):
    """Show a confirm button; the change is a POST, so link scanners cannot make it."""
    try:
        new_email = email_change.check_link(token)
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for("core.home"))
    return render_template(
        "account/email_confirm.html", token=token, email=new_email, form=ActionForm()
    )


@account_bp.post("/email/confirm/<token>")
@ratelimit.rate_limited(_auth_limit)
def confirm_email_post(token: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        user = email_change.confirm_change(token)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(
            url_for("account.change_email" if current_user.is_authenticated else "core.home")
        )
    commit()
    flash(_("Your e-mail address is now %(email)s.", email=user.email), "success")
    return redirect(url_for("account.security" if current_user.is_authenticated else "auth.login"))


@account_bp.route("/security/delete", methods=["GET", "POST"])
@login_required
@ratelimit.rate_limited(_auth_limit, methods=("POST",))
def delete_account():
    """Delete my account (people without a membership; members ask for erasure)."""
    user = current_user._get_current_object()
    blocker = account_deletion.deletion_blocker(user)
    form = DeleteAccountForm()
    if blocker is None and form.validate_on_submit():
        try:
            account_deletion.delete_account(user, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            login_flow.end_current_session()
            commit()
            flash(_("Your account is deleted. Goodbye."), "info")
            return redirect(url_for("core.home"))
    status = 422 if form.errors else 200
    return render_template("account/delete.html", form=form, blocker=blocker), status
