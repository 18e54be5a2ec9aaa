"""Sign-up, verification, login, logout, password reset, and the account pages."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import access, login_flow, services
from app.auth.forms import (
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
    """Show a confirm button; the change itself is a POST, so link scanners cannot use the link.

    A link already used, expired or forged says so before any button."""
    from app.auth.tokens import verify_link_state

    state = verify_link_state(token)
    return render_template("auth/verify.html", token=token, form=LogoutForm(), state=state)


@bp.post("/auth/verify/<token>")
def verify_confirm(token: str):
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = services.verify_email(token)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("auth.resend"))
    commit()
    flash(_("Your e-mail address is confirmed."), "success")
    if not user.is_active:
        return redirect(url_for("auth.login"))
    return login_flow.begin_sign_in(user, remember=False, method="link")


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
            return login_flow.begin_sign_in(user, remember=form.remember.data, method="password")
    return render_template("auth/login.html", form=form, not_verified=not_verified)


@bp.post("/auth/logout")
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.record_logout(current_user._get_current_object())
    login_flow.end_current_session()
    commit()
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
            user = services.reset_password(token, form.password.data)
            access.end_other_access(user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            login_flow.end_current_session()
            commit()
            flash(_("Your password is changed. You were logged out everywhere else."), "success")
            return login_flow.begin_sign_in(user, remember=False, method="reset")
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
    if form.submit.data and form.validate_on_submit():
        upload = form.avatar.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            services.update_profile(
                current_user, form.name.data, form.locale.data, data, form.remove_avatar.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form)


@account_bp.get("/data.json")
@login_required
def data_export():
    """Everything the system holds about me (grows as domains add their data)."""
    from app.auth.export import personal_data

    response = jsonify(personal_data(current_user))
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    return response
