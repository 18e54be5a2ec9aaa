"""Staff pages for groups (role `membership`), under /staff/members/groups/."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.members import groups
from app.members.forms import GroupForm
from app.members.models import Group
from app.members.staff import bp


def _group_form_choices(form: GroupForm, group: Group | None) -> None:
    if form.parent_id.data is None:  # no parent: the empty choice (WTForms leaves None)
        form.parent_id.data = ""
    form.parent_id.choices = [("", _("None"))] + [
        (str(g.id), g.name) for g in groups.list_groups() if group is None or g.id != group.id
    ]


def _save_group(form: GroupForm, group: Group | None) -> Group:
    return groups.save_group(
        group,
        name=form.name.data,
        kind=form.kind.data,
        slug=form.slug.data,
        description=form.description.data,
        parent_id=int(form.parent_id.data) if form.parent_id.data else None,
        capacity=form.capacity.data,
        recruiting=form.recruiting.data,
        actor_id=current_user.id,
    )


@bp.route("/groups/", methods=["GET", "POST"])
@roles_required("membership")
def member_groups():
    form = GroupForm(recruiting=True)
    _group_form_choices(form, None)
    if form.validate_on_submit():
        try:
            group = _save_group(form, None)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The group %(name)s is created.", name=group.name), "success")
            return redirect(url_for("staff.members.member_group", group_id=group.id))
    return render_template(
        "members/staff/groups.html",
        groups=groups.list_groups(),
        form=form,
        kind_labels=groups.KIND_LABELS,
    )


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@roles_required("membership")
def member_group(group_id: int):
    group = db.get_or_404(Group, group_id)
    form = GroupForm(obj=group)
    _group_form_choices(form, group)
    if request.method == "GET":
        form.parent_id.data = str(group.parent_id) if group.parent_id else ""
    if form.validate_on_submit():
        try:
            _save_group(form, group)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The group is saved."), "success")
            return redirect(url_for("staff.members.member_group", group_id=group.id))
    return render_template(
        "members/staff/group.html",
        group=group,
        form=form,
        roster=groups.roster(group),
        role_label=groups.role_label,
    )
