"""Member-facing pages: apply, my membership, the board, groups, unsubscribe."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.mail import load_unsubscribe_token
from app.extensions import csrf, db
from app.members import groups, lifecycle, privacy
from app.members.consents import (
    CONSENT_LABELS,
    consent_history,
    consents_of,
    has_consent,
    set_consents,
)
from app.members.consents import unsubscribe as unsubscribe_newsletter  # the view is unsubscribe
from app.members.forms import (
    GENDER_CHOICES,
    HOUSING_CHOICES,
    ActionForm,
    ApplicationForm,
    ConsentForm,
    ErasureForm,
    RecordForm,
    ResignForm,
    UnsubscribeForm,
)
from app.members.models import CONSENT_KINDS
from app.members.records import RECORD_FIELDS, membership_of, update_record
from app.members.titles import current_board, title_label
from app.members.validation import default_country

bp = Blueprint("members", __name__, cli_group="members")


def parse_unions(text: str | None) -> list[tuple[str, str]]:
    """'Union: number' lines from a text area."""
    result = []
    for line in (text or "").splitlines():
        union, _sep, number = line.partition(":")
        if union.strip():
            result.append((union.strip(), number.strip()))
    return result


def format_unions(membership) -> str:
    return "\n".join(
        f"{u.union}: {u.member_number}" if u.member_number else u.union for u in membership.unions
    )


def with_unions(form, membership):
    """A record form whose unions text is the record's own unless the request sent the field
    (built from the record, the form would take its `unions`, a list of rows, as the text)."""
    if "unions" not in request.form:
        form.unions.data = format_unions(membership)
    return form


def record_values(form) -> dict:
    """The record fields of a submitted form, as plain values for a service."""
    return {field: getattr(form, field).data for field in RECORD_FIELDS}


@bp.app_context_processor
def membership_globals():
    return {
        "membership_status_label": lambda status: lifecycle.STATUS_LABELS.get(status, status),
        "country_name": country_name,
        "gender_label": lambda code: dict(GENDER_CHOICES).get(code, code) if code else "",
        "housing_label": lambda code: dict(HOUSING_CHOICES).get(code, code) if code else "",
        "membership_event_label": lambda action: lifecycle.EVENT_LABELS.get(action, action),
    }


def country_name(code: str | None) -> str:
    """A country's name in the current language."""
    from babel import Locale
    from flask_babel import get_locale

    if not code:
        return ""
    return Locale.parse(str(get_locale())).territories.get(code, code)


@bp.route("/members/apply", methods=["GET", "POST"])
@login_required
def apply():
    membership = membership_of(current_user)
    if membership is not None and membership.status in ("applied", "active"):
        return redirect(url_for("members.me"))
    if not current_user.is_verified:
        return render_template("members/apply.html", form=None)
    prefill = {
        "full_name": current_user.name,
        "country": default_country(),
        "national_id_country": default_country(),
    }
    if membership is not None:
        prefill.update({f: getattr(membership, f) for f in RECORD_FIELDS})
        prefill["unions"] = format_unions(membership)
        prefill["national_id_country"] = membership.national_id_country
    form = ApplicationForm(data=prefill)
    if form.validate_on_submit():
        values = record_values(form)
        values["national_id"] = form.national_id.data
        values["national_id_country"] = form.national_id_country.data
        consents = {kind: getattr(form, kind).data for kind in CONSENT_KINDS}
        try:
            membership = lifecycle.apply(
                current_user, values, consents, unions=parse_unions(form.unions.data)
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            if membership.status == "active":
                flash(_("Welcome! You are a member now."), "success")
            else:
                flash(
                    _("Thank you. Your application is received and waits for a decision."),
                    "success",
                )
            return redirect(url_for("members.me"))
    return render_template("members/apply.html", form=form)


@bp.get("/members/me")
@login_required
def me():
    membership = membership_of(current_user)
    if membership is None:
        return render_template("members/me.html", membership=None)
    consents = consents_of(current_user)
    return render_template(
        "members/me.html",
        membership=membership,
        masked_id=membership.national_id_masked,
        consents=consents,
        consent_form=ConsentForm(data=consents),
        consent_history=consent_history(current_user)[:20],
        consent_labels=CONSENT_LABELS,
        resign_form=ResignForm(),
        erasure_form=ErasureForm(),
        titles=membership.titles,
        title_label=title_label,
        group_links=membership.group_links,
        role_label=groups.role_label,
    )


def _own_membership():
    membership = membership_of(current_user)
    if membership is None or membership.anonymised_at is not None:
        abort(404)
    return membership


@bp.route("/members/me/edit", methods=["GET", "POST"])
@login_required
def edit_me():
    membership = _own_membership()
    form = with_unions(RecordForm(obj=membership), membership)
    if form.validate_on_submit():
        try:
            update_record(
                membership,
                record_values(form),
                current_user.id,
                unions=parse_unions(form.unions.data),
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("Your membership details are saved."), "success")
            return redirect(url_for("members.me"))
    return render_template(
        "members/edit.html",
        form=form,
        membership=membership,
        masked_id=membership.national_id_masked,
    )


@bp.post("/members/me/consents")
@login_required
def consents():
    _own_membership()
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    set_consents(
        current_user,
        {kind: getattr(form, kind).data for kind in CONSENT_KINDS},
        actor_id=current_user.id,
    )
    commit()
    flash(_("Your choices are saved."), "success")
    return redirect(url_for("members.me"))


@bp.post("/members/me/resign")
@login_required
def resign():
    membership = _own_membership()
    form = ResignForm()
    if not form.validate_on_submit():
        flash(_("Tick the box to confirm."), "danger")
        return redirect(url_for("members.me"))
    try:
        lifecycle.end_membership(membership, current_user.id, form.reason.data, by_member=True)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("members.me"))
    commit()
    flash(_("Your membership has ended. Thank you for your time with us."), "info")
    return redirect(url_for("members.me"))


@bp.post("/members/me/erasure")
@login_required
def erasure():
    membership = _own_membership()
    form = ErasureForm()
    if not form.validate_on_submit():
        flash(_("Tick the box to confirm."), "danger")
        return redirect(url_for("members.me"))
    privacy.request_erasure(membership, current_user.id)
    commit()
    flash(
        _(
            "Your request is received. Membership staff will remove your personal data; "
            "only anonymous numbers for statistics are kept."
        ),
        "info",
    )
    return redirect(url_for("members.me"))


@bp.get("/members/board")
def board():
    return render_template("members/board.html", titles=current_board(), title_label=title_label)


@bp.get("/groups/", endpoint="groups")
def groups_index():
    return render_template(
        "members/groups.html", groups=groups.list_groups(), kind_labels=groups.KIND_LABELS
    )


@bp.get("/groups/<slug>")
def group(slug: str):
    found = groups.get_group(slug)
    membership = membership_of(current_user) if current_user.is_authenticated else None
    link = groups.link_of(found, membership)
    visible = groups.can_see_roster(found, current_user)
    return render_template(
        "members/group.html",
        group=found,
        link=link,
        membership=membership,
        roster=groups.roster(found) if visible else None,
        leaders=groups.leaders(found),
        can_join=bool(membership and membership.status == "active" and link is None),
        groupable=has_consent(current_user, "groupable")
        if current_user.is_authenticated
        else False,
        form=ActionForm(),
        kind_labels=groups.KIND_LABELS,
        role_label=groups.role_label,
    )


def _group_action(slug: str, act, not_member_message: str, done_message: str, category: str):
    """Join or leave a group as the signed-in member, then back to the group page."""
    if not ActionForm().validate_on_submit():
        abort(400)
    found = groups.get_group(slug)
    membership = membership_of(current_user)
    try:
        if membership is None:
            raise DomainError(not_member_message)
        act(found, membership, current_user.id)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(done_message % {"name": found.name}, category)
    return redirect(url_for("members.group", slug=slug))


@bp.post("/groups/<slug>/join")
@login_required
def join_group(slug: str):
    return _group_action(
        slug,
        groups.join,
        _("Only active members can join groups."),
        _("You joined %(name)s."),
        "success",
    )


@bp.post("/groups/<slug>/leave")
@login_required
def leave_group(slug: str):
    return _group_action(
        slug, groups.leave, _("You are not in this group."), _("You left %(name)s."), "info"
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """No login: a GET shows a button; a POST withdraws the newsletter consent.

    Mail programs send the RFC 8058 one-click POST (body List-Unsubscribe=One-Click) with no
    CSRF token, so only that exact POST skips the CSRF check; the signed token authorises it.
    """
    user_id = load_unsubscribe_token(token)
    if user_id is None:
        return render_template("members/unsubscribe.html", valid=False, form=None), 404
    form = UnsubscribeForm()
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if not one_click:
            try:
                validate_csrf(request.form.get("csrf_token"))
            except (ValidationError, CSRFError):
                abort(400)
        try:
            unsubscribe_newsletter(user_id)
        except DomainError:
            db.session.rollback()
            return render_template("members/unsubscribe.html", valid=False, form=None), 404
        commit()
        if one_click:
            return "", 200
        return render_template("members/unsubscribe.html", valid=True, done=True, form=None)
    return render_template("members/unsubscribe.html", valid=True, done=False, form=form)
