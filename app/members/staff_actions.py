"""Staff actions on a member record (role `membership`): decide an application, end or
reactivate a membership, notes, titles, groups, anonymisation. Each is a POST that commits once
and returns to the record."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.members import groups, lifecycle, privacy, records, titles
from app.members.forms import (
    ActionForm,
    AddToGroupForm,
    AnonymiseForm,
    EndForm,
    EndTitleForm,
    GroupRoleForm,
    NoteForm,
    RejectForm,
    TitleForm,
)
from app.members.models import Group, GroupMember, Membership, Title
from app.members.staff import back_to_record, bp, group_choices, member_or_404, record_page


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
            return back_to_record(membership)
    return record_page(membership, status=422, **{name: form})


@bp.post("/<int:member_id>/approve")
@roles_required("membership")
def member_approve(member_id: int):
    membership = member_or_404(member_id)

    def approve():
        lifecycle.approve(membership, current_user.id)
        return _(
            "%(name)s is a member now; a welcome e-mail is on its way.",
            name=membership.full_name,
        ), "success"

    _button(ActionForm(), approve)
    if request.form.get("next_page") == "queue":
        return redirect(url_for("staff.members.members_applications"))
    return back_to_record(membership)


@bp.post("/<int:member_id>/reject")
@roles_required("membership")
def member_reject(member_id: int):
    membership = member_or_404(member_id)
    form = RejectForm()

    def reject():
        lifecycle.reject(membership, current_user.id, form.reason.data)
        return _("The application is rejected; the applicant is told by e-mail."), "info"

    return _form(membership, form, "reject_form", reject)


@bp.post("/<int:member_id>/end")
@roles_required("membership")
def member_end(member_id: int):
    membership = member_or_404(member_id)
    form = EndForm()

    def end():
        lifecycle.end_membership(membership, current_user.id, form.reason.data)
        return _("The membership has ended."), "info"

    _button(form, end)
    return back_to_record(membership)


@bp.post("/<int:member_id>/reactivate")
@roles_required("membership")
def member_reactivate(member_id: int):
    membership = member_or_404(member_id)
    form = EndForm()  # an optional reason, like ending

    def reactivate():
        lifecycle.reactivate(membership, current_user.id, form.reason.data)
        return _("%(name)s is a member again.", name=membership.full_name), "success"

    _button(form, reactivate)
    return back_to_record(membership)


@bp.post("/<int:member_id>/notes")
@roles_required("membership")
def member_note(member_id: int):
    membership = member_or_404(member_id)
    form = NoteForm()

    def add_note():
        records.add_note(membership, form.text.data, form.tags.data, current_user.id)
        return _("The note is added."), "success"

    return _form(membership, form, "note_form", add_note)


@bp.post("/<int:member_id>/titles")
@roles_required("membership")
def member_title_add(member_id: int):
    membership = member_or_404(member_id)
    form = TitleForm()
    form.group_id.choices = group_choices(_("The association (board)"))

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
    membership = member_or_404(member_id)
    title = db.get_or_404(Title, title_id)
    if title.membership_id != membership.id:
        abort(404)
    form = EndTitleForm()

    def end_title():
        titles.end_title(title, form.ends_on.data, current_user.id)
        return _("The title is ended."), "info"

    _button(form, end_title)
    return back_to_record(membership)


@bp.post("/<int:member_id>/groups")
@roles_required("membership")
def member_group_add(member_id: int):
    membership = member_or_404(member_id)
    form = AddToGroupForm()
    form.group_id.choices = group_choices()

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
    membership = member_or_404(member_id)
    link = _link(membership, link_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    groups.leave(link.group, membership, current_user.id)
    commit()
    flash(_("Removed from the group."), "info")
    return back_to_record(membership)


@bp.post("/<int:member_id>/groups/<int:link_id>/role")
@roles_required("membership")
def member_group_role(member_id: int, link_id: int):
    membership = member_or_404(member_id)
    link = _link(membership, link_id)
    form = GroupRoleForm()

    def set_role():
        groups.set_role(link, form.role.data, form.custom_role.data, current_user.id)
        return _("The role is changed."), "success"

    _button(form, set_role)
    return back_to_record(membership)


@bp.post("/<int:member_id>/anonymise")
@roles_required("membership")
def member_anonymise(member_id: int):
    membership = member_or_404(member_id)
    form = AnonymiseForm()

    def anonymise():
        privacy.anonymise(membership, current_user.id)
        return _("The record is anonymised."), "success"

    return _form(membership, form, "anonymise_form", anonymise)
