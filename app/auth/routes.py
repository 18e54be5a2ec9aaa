"""Sign-up, verification, login, logout, password reset, and the account pages."""

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import services
from app.auth.forms import (
    ChangePasswordForm,
    EmailForm,
    LoginForm,
    LogoutForm,
    NewPasswordForm,
    ProfileForm,
    RegisterForm,
)
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.core.security import is_safe_next
from app.extensions import db

bp = Blueprint("auth", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")


def _auth_limit():
    return current_app.config["AUTH_POST_LIMIT"]


def _start_session(user, remember: bool) -> None:
    """A fresh session at login: nothing from before survives, and it gets a new id."""
    locale = session.get("_locale")
    session.clear()
    login_user(user, remember=remember)
    session["sid"] = secrets.token_urlsafe(16)
    session.permanent = True
    if locale:
        session["_locale"] = locale


@bp.route("/auth/register", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.register(
                form.name.data,
                form.email.data,
                form.password.data,
                str(get_locale()),
                form.accept_privacy.data,
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            return render_template("auth/check_email.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.get("/auth/verify/<token>")
def verify(token: str):
    """Show a confirm button; the change itself is a POST, so link scanners cannot use the link."""
    return render_template("auth/verify.html", token=token, form=LogoutForm())


@bp.post("/auth/verify/<token>")
def verify_confirm(token: str):
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.verify_email(token)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("auth.resend"))
    commit()
    flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/auth/verify", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def resend():
    form = EmailForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and not user.is_verified:
            services.send_verification(user)
            commit()
        flash(
            _("If the address belongs to an unconfirmed account, a new link is on its way."), "info"
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/resend.html", form=form)


@bp.route("/auth/login", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def login():
    target = request.args.get("next")
    if not is_safe_next(target):
        target = None
    if current_user.is_authenticated:
        return redirect(target or url_for("account.home"))
    form = LoginForm()
    not_verified = False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, request.remote_addr)
        except services.LoginFailed as exc:
            db.session.rollback()
            services.record_failed_login(form.email.data, exc.reason)
            commit()
            if isinstance(exc, services.NotVerified):
                not_verified = True
                flash(str(exc.message), "warning")
            elif isinstance(exc, services.LockedOut):
                form.email.errors = [*form.email.errors, str(exc.message)]
            else:
                form.password.errors = [*form.password.errors, str(exc.message)]
        else:
            commit()
            _start_session(user, form.remember.data)
            return redirect(target or url_for("account.home"))
    return render_template("auth/login.html", form=form, not_verified=not_verified)


@bp.post("/auth/logout")
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.record_logout(current_user._get_current_object())
        commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    response = redirect(url_for("core.home"))
    # A shared door phone keeps nothing of this person: the offline ticket list and queued
    # scans (localStorage) and the cached scanner pages go with the session.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/auth/reset", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        commit()
        flash(
            _(
                "If an account uses that address, we have sent it a link to set a new password. "
                "The link works for one hour."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def reset_password(token: str):
    try:
        services.check_reset_token(token)
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for("auth.reset_request"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("Your password is changed. Log in with the new password."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@account_bp.get("")
@login_required
def home():
    """My page: what I have here (tickets, membership, polls as those parts arrive)."""
    return render_template("account/home.html")


@account_bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if form.submit.data and form.validate_on_submit():
        upload = form.avatar.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            services.update_profile(current_user, form.name.data, form.locale.data, data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form, password_form=password_form)


@account_bp.post("/password")
@login_required
def change_password():
    form = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        try:
            services.change_password(
                current_user, password_form.current_password.data, password_form.password.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(password_form, exc)
        else:
            commit()
            _start_session(current_user._get_current_object(), remember=False)
            flash(_("Your password is changed. You were logged out everywhere else."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form, password_form=password_form), 422


@account_bp.get("/data.json")
@login_required
def data_export():
    """Everything the system holds about me (grows as domains add their data)."""
    from app.auth.export import personal_data

    response = jsonify(personal_data(current_user))
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    return response
