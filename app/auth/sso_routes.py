"""Single sign-on: /auth/oauth/<provider> and its callback, the pages that create an account or
link an existing one (with its password), and linking/unlinking on /account/security."""

from __future__ import annotations

import time

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth import login_flow, services, sso, sso_accounts
from app.auth.routes import account_bp, bp
from app.auth.sign_in_forms import ActionForm, CompleteSignUpForm, ConfirmLinkForm
from app.auth.sign_in_methods import has_password
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.extensions import db

PENDING = "_sso_pending"  # the provider's verified profile, waiting for a page to finish
LINKING = "_sso_link"  # a link started from /account/security by the signed-in user
PENDING_SECONDS = 600
LINK_SALT = "sso-link"


def _auth_limit():
    return current_app.config["AUTH_POST_LIMIT"]


def _enabled_or_404(provider: str) -> None:
    if not sso.is_enabled(provider):
        abort(404)


def link_token(user_id: int, provider: str) -> str:
    """A signed token in the "link" button's URL: only the signed-in owner starts a link."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], LINK_SALT).dumps(
        [user_id, provider]
    )


def _link_token_ok(token: str, provider: str) -> bool:
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], LINK_SALT)
    try:
        user_id, named = serializer.loads(token, max_age=PENDING_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return False
    return current_user.is_authenticated and user_id == current_user.id and named == provider


def _keep_pending(profile: sso.Profile) -> None:
    session[PENDING] = {
        "provider": profile.provider,
        "subject": profile.subject,
        "email": profile.email,
        "email_verified": profile.email_verified,
        "name": profile.name,
        "at": int(time.time()),
    }


def _pending() -> sso.Profile | None:
    kept = session.get(PENDING)
    if not isinstance(kept, dict) or time.time() - kept.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    if kept.get("provider") not in sso.enabled_providers():
        return None
    return sso.Profile(
        kept["provider"], kept["subject"], kept["email"], kept["email_verified"], kept["name"]
    )


@bp.get("/auth/oauth/<provider>")
@rate_limited(_auth_limit)
def oauth_start(provider: str):
    """Off to the provider's sign-in page (a link: it changes nothing here but the session)."""
    _enabled_or_404(provider)
    session.pop(LINKING, None)
    token = request.args.get("link")
    if token:
        if not _link_token_ok(token, provider):
            abort(400)
        session[LINKING] = {"user": current_user.id, "provider": provider, "at": int(time.time())}
    elif current_user.is_authenticated:
        return redirect(url_for("account.home"))
    try:
        return sso.authorize_redirect(provider, sso.callback_url(provider))
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for("account.security") if token else url_for("auth.login"))


def _linking(provider: str) -> bool:
    kept = session.pop(LINKING, None)
    return (
        isinstance(kept, dict)
        and current_user.is_authenticated
        and kept.get("user") == current_user.id
        and kept.get("provider") == provider
        and time.time() - kept.get("at", 0) <= PENDING_SECONDS
    )


@bp.get("/auth/oauth/<provider>/callback")
@rate_limited(_auth_limit)
def oauth_callback(provider: str):
    """Back from the provider: sign in, or finish a link, or ask how to go on."""
    _enabled_or_404(provider)
    linking = _linking(provider)
    failed_to = url_for("account.security") if linking else url_for("auth.login")
    try:
        profile = sso.fetch_profile(provider)
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(failed_to)
    if linking:
        try:
            sso_accounts.link(current_user._get_current_object(), profile)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            commit()
            flash(
                _("%(provider)s is linked to your account.", provider=sso.label(provider)),
                "success",
            )
        return redirect(url_for("account.security"))
    identity = sso_accounts.find_identity(provider, profile.subject)
    if identity is not None:
        try:
            user = sso_accounts.sign_in_with(identity)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("auth.login"))
        return login_flow.begin_sign_in(user, remember=False, method=f"oauth:{provider}")
    try:
        sso_accounts.require_verified_email(profile)
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for("auth.login"))
    _keep_pending(profile)
    if sso_accounts.existing_account(profile) is not None:
        return redirect(url_for("auth.oauth_link"))
    return redirect(url_for("auth.oauth_complete"))


@bp.route("/auth/oauth/complete", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def oauth_complete():
    """A first sign-in: create the account from the provider's verified address."""
    profile = _pending()
    if profile is None:
        flash(_("Your sign-in has expired. Log in again."), "warning")
        return redirect(url_for("auth.login"))
    form = CompleteSignUpForm(data=None if request.method == "POST" else {"name": profile.name})
    if form.validate_on_submit():
        try:
            user = sso_accounts.create_account(
                profile, form.name.data, str(get_locale()), form.accept_privacy.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            if user is None:  # the address got an account meanwhile: its owner confirms
                db.session.rollback()
                return redirect(url_for("auth.oauth_link"))
            session.pop(PENDING, None)
            return login_flow.begin_sign_in(
                user, remember=False, method=f"oauth:{profile.provider}"
            )
    return render_template(
        "auth/oauth_complete.html", form=form, profile=profile, provider=sso.label(profile.provider)
    )


@bp.route("/auth/oauth/link", methods=["GET", "POST"])
@rate_limited(_auth_limit, methods=("POST",))
def oauth_link():
    """The provider's address belongs to an account here: its owner links it with the password."""
    profile = _pending()
    if profile is None:
        flash(_("Your sign-in has expired. Log in again."), "warning")
        return redirect(url_for("auth.login"))
    owner = sso_accounts.existing_account(profile)
    if owner is None:
        return redirect(url_for("auth.oauth_complete"))
    form = ConfirmLinkForm()
    if has_password(owner) and form.validate_on_submit():
        try:
            user = sso_accounts.confirm_link(profile, form.password.data, request.remote_addr)
        except services.LoginFailed as exc:
            db.session.rollback()
            services.record_failed_login(profile.email, exc.reason)
            commit()
            apply_error(form, exc)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            session.pop(PENDING, None)
            response = login_flow.begin_sign_in(
                user, remember=False, method=f"oauth:{profile.provider}"
            )
            # After the sign-in began: a new session keeps nothing of the old one.
            flash(
                _("%(provider)s is linked to your account.", provider=sso.label(profile.provider)),
                "success",
            )
            return response
    return render_template(
        "auth/oauth_link.html",
        form=form,
        profile=profile,
        provider=sso.label(profile.provider),
        has_password=has_password(owner),
    )


@account_bp.post("/security/providers/<int:identity_id>/unlink")
@login_required
def provider_unlink(identity_id: int):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Please send it again."), "danger")
        return redirect(url_for("account.security"))
    try:
        sso_accounts.unlink(current_user._get_current_object(), identity_id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("account.security"))
    commit()
    flash(_("The sign-in provider is unlinked."), "success")
    return redirect(url_for("account.security"))


@bp.app_template_global()
def sign_in_providers() -> list[tuple[str, str]]:
    """(name, label) of each provider the configuration turns on, for the buttons."""
    return [(name, sso.label(name)) for name in sso.enabled_providers()]


@bp.app_template_global()
def provider_label(provider: str) -> str:
    return sso.label(provider)


@bp.app_template_global()
def my_sign_in_identities() -> list:
    """The signed-in user's linked providers (account/_security_providers.html)."""
    if not current_user.is_authenticated:
        return []
    return sso_accounts.identities_of(current_user)


@bp.app_template_global()
def provider_link_url(provider: str) -> str:
    """The signed start of linking a provider to the signed-in user."""
    return url_for(
        "auth.oauth_start", provider=provider, link=link_token(current_user.id, provider)
    )
