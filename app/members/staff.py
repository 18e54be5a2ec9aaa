"""Staff pages for membership (role `membership`): directory, records, decisions, groups,
titles, notes, import and export, anonymisation. Every route here is under /staff/members/."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.core.audit import AuditEntry
from app.core.errors import DomainError
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
from app.members.models import CONSENT_KINDS, Group, GroupMember, Membership, Title
from app.members.routes import format_unions, parse_unions, record_values

# Nested under the staff blueprint by the factory: /staff/members/...
bp = Blueprint("members", __name__, url_prefix="/members")

PER_PAGE = 50
PREVIEW_VALID_ROWS = 200


def _member(member_id: int) -> Membership:
    return db.get_or_404(Membership, member_id)


def _group_choices(empty_label: str | None = None) -> list[tuple[str, str]]:
    choices = [("", empty_label)] if empty_label is not None else []
    return choices + [(str(g.id), g.name) for g in groups.list_groups()]


def _back(membership: Membership):
    return redirect(url_for("staff.members.member_detail", member_id=membership.id))


def _button(form, action: Callable[[], tuple[str, str]]) -> None:
    """A button on the record (no fields to show again): run `action`, which changes the record
    and returns (message, category); commit and flash it, or roll back and flash why not."""
    if not form.validate_on_submit():
        abort(400)
    try:
        message, category = action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(message, category)


def _form(membership: Membership, form, name: str, action: Callable[[], tuple[str, str]]):
    """A form on the record: as `_button`, but an invalid form or a refused change shows the
    record again with the errors next to the form's fields (422)."""
    if form.validate_on_submit():
        try:
            message, category = action()
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(message, category)
            return _back(membership)
    return _detail(membership, status=422, **{name: form})


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
        group_choices=_group_choices(),
        municipalities=directory.municipalities(),
        sort_labels=directory.SORT_LABELS,
        status_labels=lifecycle.STATUS_LABELS,
    )


@bp.get("/export.csv")
@roles_required("membership")
def members_export():
    flt = directory.MemberFilter.from_args(request.args)
    chunks = directory.export_csv(flt, current_user.id)
    commit()  # the export's audit entry is saved before the first byte goes out
    filename = f"members-{local_today().isoformat()}.csv"
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Type": "text/csv; charset=utf-8",
            "Cache-Control": "no-store",
        },
    )


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
            .options(joinedload(AuditEntry.actor), joinedload(AuditEntry.subject_user))
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


def _detail(membership: Membership, revealed: str | None = None, status: int = 200, **forms):
    title_form = forms.get("title_form") or TitleForm(starts_on=local_today())
    title_form.group_id.choices = _group_choices(_("The association (board)"))
    group_form = forms.get("group_form") or AddToGroupForm()
    group_form.group_id.choices = _group_choices()
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
    return _detail(_member(member_id))


@bp.post("/<int:member_id>/reveal")
@roles_required("membership")
def member_reveal(member_id: int):
    membership = _member(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    revealed = privacy.reveal_national_id(membership, current_user.id)
    commit()
    response = _detail(membership, revealed=revealed)
    return response


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required("membership")
def member_edit(member_id: int):
    membership = _member(member_id)
    if membership.anonymised_at is not None:
        flash(_("This record is anonymised and cannot be edited."), "warning")
        return _back(membership)
    consents = consents_of(membership.user)
    form = StaffRecordForm(obj=membership, data=consents)
    if request.method == "GET":
        form.unions.data = format_unions(membership)
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
            return _back(membership)
    return render_template(
        "members/staff/edit.html", form=form, m=membership, status_labels=lifecycle.STATUS_LABELS
    )


@bp.post("/<int:member_id>/approve")
@roles_required("membership")
def member_approve(member_id: int):
    membership = _member(member_id)

    def approve():
        lifecycle.approve(membership, current_user.id)
        return _(
            "%(name)s is a member now; a welcome e-mail is on its way.",
            name=membership.full_name,
        ), "success"

    _button(ActionForm(), approve)
    if request.form.get("next_page") == "queue":
        return redirect(url_for("staff.members.members_applications"))
    return _back(membership)


@bp.post("/<int:member_id>/reject")
@roles_required("membership")
def member_reject(member_id: int):
    membership = _member(member_id)
    form = RejectForm()

    def reject():
        lifecycle.reject(membership, current_user.id, form.reason.data)
        return _("The application is rejected; the applicant is told by e-mail."), "info"

    return _form(membership, form, "reject_form", reject)


@bp.post("/<int:member_id>/end")
@roles_required("membership")
def member_end(member_id: int):
    membership = _member(member_id)
    form = EndForm()

    def end():
        lifecycle.end_membership(membership, current_user.id, form.reason.data)
        return _("The membership has ended."), "info"

    _button(form, end)
    return _back(membership)


@bp.post("/<int:member_id>/reactivate")
@roles_required("membership")
def member_reactivate(member_id: int):
    membership = _member(member_id)
    form = EndForm()  # an optional reason, like ending

    def reactivate():
        lifecycle.reactivate(membership, current_user.id, form.reason.data)
        return _("%(name)s is a member again.", name=membership.full_name), "success"

    _button(form, reactivate)
    return _back(membership)


@bp.post("/<int:member_id>/notes")
@roles_required("membership")
def member_note(member_id: int):
    membership = _member(member_id)
    form = NoteForm()

    def add_note():
        records.add_note(membership, form.text.data, form.tags.data, current_user.id)
        return _("The note is added."), "success"

    return _form(membership, form, "note_form", add_note)


@bp.post("/<int:member_id>/titles")
@roles_required("membership")
def member_title_add(member_id: int):
    membership = _member(member_id)
    form = TitleForm()
    form.group_id.choices = _group_choices(_("The association (board)"))

    def add_title():
        group = db.session.get(Group, int(form.group_id.data)) if form.group_id.data else None
        titles.add_title(
            membership,
            form.kind.data,
            form.starts_on.data,
            form.ends_on.data,
            form.custom_title.data,
            group,
            current_user.id,
        )
        return _("The title is added."), "success"

    return _form(membership, form, "title_form", add_title)


@bp.post("/<int:member_id>/titles/<int:title_id>/end")
@roles_required("membership")
def member_title_end(member_id: int, title_id: int):
    membership = _member(member_id)
    title = db.get_or_404(Title, title_id)
    if title.membership_id != membership.id:
        abort(404)
    form = EndTitleForm()

    def end_title():
        titles.end_title(title, form.ends_on.data, current_user.id)
        return _("The title is ended."), "info"

    _button(form, end_title)
    return _back(membership)


@bp.post("/<int:member_id>/groups")
@roles_required("membership")
def member_group_add(member_id: int):
    membership = _member(member_id)
    form = AddToGroupForm()
    form.group_id.choices = _group_choices()

    def join():
        group = db.get_or_404(Group, int(form.group_id.data))
        groups.join(
            group,
            membership,
            current_user.id,
            by_staff=True,
            role=form.role.data,
            custom_role=form.custom_role.data,
        )
        return _("Added to %(name)s.", name=group.name), "success"

    return _form(membership, form, "group_form", join)


def _link(membership: Membership, link_id: int) -> GroupMember:
    link = db.get_or_404(GroupMember, link_id)
    if link.membership_id != membership.id:
        abort(404)
    return link


@bp.post("/<int:member_id>/groups/<int:link_id>/remove")
@roles_required("membership")
def member_group_remove(member_id: int, link_id: int):
    membership = _member(member_id)
    link = _link(membership, link_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    groups.leave(link.group, membership, current_user.id)
    commit()
    flash(_("Removed from the group."), "info")
    return _back(membership)


@bp.post("/<int:member_id>/groups/<int:link_id>/role")
@roles_required("membership")
def member_group_role(member_id: int, link_id: int):
    membership = _member(member_id)
    link = _link(membership, link_id)
    form = GroupRoleForm()

    def set_role():
        groups.set_role(link, form.role.data, form.custom_role.data, current_user.id)
        return _("The role is changed."), "success"

    _button(form, set_role)
    return _back(membership)


@bp.post("/<int:member_id>/anonymise")
@roles_required("membership")
def member_anonymise(member_id: int):
    membership = _member(member_id)
    form = AnonymiseForm()

    def anonymise():
        privacy.anonymise(membership, current_user.id)
        return _("The record is anonymised."), "success"

    return _form(membership, form, "anonymise_form", anonymise)
