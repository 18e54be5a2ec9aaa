"""Staff pages for membership (role `membership`): the directory, its export, applications,
and a member's record (view, reveal the national ID, edit). The record's actions are in
staff_actions.py, groups in staff_groups.py, the import in staff_import.py: all on this blueprint,
under /staff/members/."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from app.auth.reauth import recent_auth_required
from app.core.audit import AuditEntry
from app.core.errors import DomainError
from app.core.exports import table_response
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.core.timeutil import local_today
from app.extensions import db
from app.members import directory, groups, lifecycle, privacy, records, titles
from app.members.consents import CONSENT_LABELS, consent_history, consents_of, set_consents
from app.members.forms import (
    ActionForm,
    AddToGroupForm,
    AnonymiseForm,
    EndForm,
    EndTitleForm,
    GroupRoleForm,
    NoteForm,
    RejectForm,
    StaffRecordForm,
    TitleForm,
)
from app.members.models import CONSENT_KINDS, Membership
from app.members.routes import parse_unions, record_values, with_unions

# Nested under the staff blueprint by the factory: /staff/members/...
bp = Blueprint("members", __name__, url_prefix="/members")

PER_PAGE = 50
PREVIEW_VALID_ROWS = 200


def member_or_404(member_id: int) -> Membership:
    """The member record, or 404."""
    return db.get_or_404(Membership, member_id)


def group_choices(empty_label: str | None = None) -> list[tuple[str, str]]:
    """The groups as select choices, optionally after an empty choice."""
    choices = [("", empty_label)] if empty_label is not None else []
    return choices + [(str(g.id), g.name) for g in groups.list_groups()]


def back_to_record(membership: Membership):
    """A redirect to the member's record page."""
    return redirect(url_for("staff.members.member_detail", member_id=membership.id))


@bp.get("/")
@roles_required("membership")
def members():
    flt = directory.MemberFilter.from_args(request.args)
    page = db.paginate(directory.member_query(flt), per_page=PER_PAGE, error_out=False)
    return render_template(
        "members/staff/directory.html",
        page=page,
        flt=flt,
        counts=directory.counts_by_status(),
        group_choices=group_choices(),
        municipalities=directory.municipalities(),
        sort_labels=directory.SORT_LABELS,
        status_labels=lifecycle.STATUS_LABELS,
    )


@bp.get("/export.csv", defaults={"fmt": "csv"})
@bp.get("/export.xlsx", defaults={"fmt": "xlsx"})
@roles_required("membership")
@recent_auth_required
def members_export(fmt: str):
    flt = directory.MemberFilter.from_args(request.args)
    headers, rows = directory.export_table(flt, current_user.id)
    commit()  # the export's audit entry is saved before the first byte goes out
    return table_response(f"members-{local_today().isoformat()}", headers, rows, fmt)


@bp.get("/applications")
@roles_required("membership")
def members_applications():
    waiting = db.session.scalars(
        select(Membership)
        .where(Membership.status == "applied", Membership.is_test.is_(False))
        .order_by(Membership.applied_at)
    ).all()
    erasure = db.session.scalars(
        directory.member_query(directory.MemberFilter(erasure=True, include_test=True))
    ).all()
    return render_template(
        "members/staff/applications.html",
        waiting=waiting,
        erasure=erasure,
        form=ActionForm(),
        reject_form=RejectForm(),
    )


def _audit_trail(membership: Membership) -> list[AuditEntry]:
    # Both sides of the OR have an index (subject_user_id; object_type + object_id), so the
    # trail is a bitmap OR of two index scans however long the log grows; actors come along.
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    AuditEntry.subject_user_id == membership.user_id,
                    (AuditEntry.object_type == "membership")
                    & (AuditEntry.object_id == membership.id),
                )
            )
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(200)
        )
    )


def record_page(membership: Membership, revealed: str | None = None, status: int = 200, **forms):
    """The record page; forms given by name replace the empty ones (to show their errors)."""
    title_form = forms.get("title_form") or TitleForm(starts_on=local_today())
    title_form.group_id.choices = group_choices(_("The association (board)"))
    group_form = forms.get("group_form") or AddToGroupForm()
    group_form.group_id.choices = group_choices()
    return (
        render_template(
            "members/staff/detail.html",
            m=membership,
            revealed=revealed,
            consents=consents_of(membership.user),
            consent_history=consent_history(membership.user),
            consent_labels=CONSENT_LABELS,
            status_labels=lifecycle.STATUS_LABELS,
            title_label=titles.title_label,
            role_label=groups.role_label,
            history=_audit_trail(membership),
            form=ActionForm(),
            reject_form=forms.get("reject_form") or RejectForm(),
            end_form=forms.get("end_form") or EndForm(),
            note_form=forms.get("note_form") or NoteForm(),
            title_form=title_form,
            end_title_form=EndTitleForm(),
            group_form=group_form,
            group_role_form=GroupRoleForm(),
            anonymise_form=forms.get("anonymise_form") or AnonymiseForm(),
            today=local_today(),
        ),
        status,
    )


@bp.get("/<int:member_id>")
@roles_required("membership")
def member_detail(member_id: int):
    return record_page(member_or_404(member_id))


@bp.post("/<int:member_id>/reveal")
@roles_required("membership")
@recent_auth_required
def member_reveal(member_id: int):
    membership = member_or_404(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    revealed = privacy.reveal_national_id(membership, current_user.id)
    commit()
    response = record_page(membership, revealed=revealed)
    return response


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required("membership")
def member_edit(member_id: int):
    membership = member_or_404(member_id)
    if membership.anonymised_at is not None:
        flash(_("This record is anonymised and cannot be edited."), "warning")
        return back_to_record(membership)
    consents = consents_of(membership.user)
    form = with_unions(StaffRecordForm(obj=membership, data=consents), membership)
    if request.method == "GET":
        form.national_id.data = ""
        for kind in CONSENT_KINDS:
            getattr(form, kind).data = consents[kind]
    if form.validate_on_submit():
        values = record_values(form)
        values.update(
            joined_on=form.joined_on.data,
            is_test=form.is_test.data,
            national_id_country=form.national_id_country.data,
        )
        if form.remove_national_id.data:
            values["national_id"] = ""
        elif (form.national_id.data or "").strip():
            values["national_id"] = form.national_id.data
        try:
            records.update_record(
                membership,
                values,
                current_user.id,
                allowed=(*records.STAFF_FIELDS, "national_id"),
                unions=parse_unions(form.unions.data),
            )
            set_consents(
                membership.user,
                {kind: getattr(form, kind).data for kind in CONSENT_KINDS},
                actor_id=current_user.id,
                source="staff",
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The member record is saved."), "success")
            return back_to_record(membership)
    return render_template(
        "members/staff/edit.html", form=form, m=membership, status_labels=lifecycle.STATUS_LABELS
    )
