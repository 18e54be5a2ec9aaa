"""Groups: creating and editing them, joining and leaving, roles in a group, who sees the roster."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager

from app.core import audit
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.core.security import has_role
from app.core.text import slugify
from app.core.unique import add_once
from app.extensions import db
from app.members.consents import has_consent
from app.members.models import GROUP_KINDS, GROUP_ROLES, Group, GroupMember, Membership
from app.members.records import membership_of

KIND_LABELS = {
    "cell": _l("Local cell"),
    "committee": _l("Committee"),
    "squadron": _l("Squadron"),
    "department": _l("Department"),
    "other": _l("Other group"),
}
ROLE_LABELS = {
    "member": _l("Member"),
    "lead": _l("Leader"),
    "officer": _l("Officer"),
    "custom": _l("Other role"),
}


class GroupFull(Conflict):
    code = "group_full"


def get_group(slug: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.slug == slug))
    if group is None:
        raise NotFound(_l("No such group."))
    return group


def list_groups() -> list[Group]:
    return list(db.session.scalars(select(Group).order_by(Group.name)))


def link_of(group: Group, membership: Membership | None) -> GroupMember | None:
    if membership is None:
        return None
    return db.session.scalar(
        select(GroupMember).where(
            GroupMember.group_id == group.id, GroupMember.membership_id == membership.id
        )
    )


def roster(group: Group, role: str | None = None) -> list[GroupMember]:
    """The group's members (of one role, when given) with their records, in one statement:
    leads first, then officers, other titles and members, each by name."""
    order = {role: i for i, role in enumerate(("lead", "officer", "custom", "member"))}
    statement = (
        select(GroupMember)
        .join(GroupMember.membership)
        .options(contains_eager(GroupMember.membership))
        .where(GroupMember.group_id == group.id)
    )
    if role is not None:
        statement = statement.where(GroupMember.role == role)
    links = db.session.scalars(statement).all()
    return sorted(links, key=lambda link: (order[link.role], link.membership.full_name))


def leaders(group: Group) -> list[GroupMember]:
    return roster(group, "lead")


def can_see_roster(group: Group, user) -> bool:
    """The roster is for the group's own members and membership staff only."""
    if has_role(user, "membership"):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    link = link_of(group, membership_of(user))
    return link is not None


def _check_fields(name: str, slug: str, kind: str, capacity, group: Group | None) -> tuple:
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the group a name."), field="name")
    if len(name) > 200:
        raise DomainError(_l("Use at most %(n)d characters.", n=200), field="name")
    slug = slugify(slug or name, max_length=100, fallback="group")
    taken = db.session.scalar(
        select(Group.id).where(Group.slug == slug, Group.id != (group.id if group else -1))
    )
    if taken is not None:
        raise Conflict(_l("Another group already uses this address."), field="slug")
    if kind not in GROUP_KINDS:
        raise DomainError(_l("Choose a kind of group."), field="kind")
    if capacity in ("", None):
        capacity = None
    else:
        try:
            capacity = int(capacity)
        except (TypeError, ValueError):
            capacity = -1
        if capacity < 0:
            raise DomainError(_l("The capacity is a whole number, 0 or more."), field="capacity")
        if group is not None and capacity < group.member_count:
            raise DomainError(
                _l(
                    "The group has %(n)d members already; the capacity cannot be lower.",
                    n=group.member_count,
                ),
                field="capacity",
            )
    return name, slug, capacity


def save_group(
    group: Group | None,
    *,
    name: str,
    kind: str,
    slug: str = "",
    description: str = "",
    parent_id: int | None = None,
    capacity=None,
    recruiting: bool = True,
    actor_id: int | None = None,
) -> Group:
    """Create a group (group=None) or change one."""
    name, slug, capacity = _check_fields(name, slug, kind, capacity, group)
    parent = db.session.get(Group, parent_id) if parent_id else None
    if parent_id and parent is None:
        raise DomainError(_l("Choose an existing parent group."), field="parent_id")
    if group is not None and parent is not None:
        ancestor = parent
        while ancestor is not None:
            if ancestor.id == group.id:
                raise DomainError(
                    _l("A group cannot sit inside itself or its own subgroups."), field="parent_id"
                )
            ancestor = ancestor.parent
    created = group is None
    if created:
        group = Group(member_count=0)
        db.session.add(group)
    before = (
        {}
        if created
        else {
            "name": group.name,
            "slug": group.slug,
            "kind": group.kind,
            "capacity": group.capacity,
            "recruiting": group.recruiting,
            "parent_id": group.parent_id,
        }
    )
    group.name, group.slug, group.kind = name, slug, kind
    group.description = (description or "").strip()[:5000]
    group.parent = parent
    group.capacity, group.recruiting = capacity, bool(recruiting)
    db.session.flush()
    after = {
        "name": group.name,
        "slug": group.slug,
        "kind": group.kind,
        "capacity": group.capacity,
        "recruiting": group.recruiting,
        "parent_id": group.parent_id,
    }
    audit.record(
        "group.created" if created else "group.updated",
        "group",
        group.id,
        {k: v for k, v in before.items() if after.get(k) != v} or None,
        {k: v for k, v in after.items() if before.get(k) != v},
        actor_id=actor_id,
    )
    return group


def _take_seat(group: Group) -> None:
    """Count the new member in the group, in one conditional UPDATE: two people cannot take
    the last place at once (the check constraint is the last line behind it)."""
    taken = db.session.execute(
        update(Group)
        .where(
            Group.id == group.id,
            (Group.capacity.is_(None)) | (Group.member_count < Group.capacity),
        )
        .values(member_count=Group.member_count + 1)
        .returning(Group.member_count)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        raise GroupFull(_l("The group is full."))
    db.session.refresh(group)


def join(
    group: Group,
    membership: Membership,
    actor_id: int | None,
    by_staff: bool = False,
    role: str = "member",
    custom_role: str = "",
) -> GroupMember:
    """Put an active member in a group: needs the groupable consent, and room; members on their
    own need a recruiting group."""
    if membership.status != "active":
        raise Forbidden(_l("Only active members can join groups."))
    if not has_consent(membership.user, "groupable"):
        raise Forbidden(
            _l("Groups need your consent to be placed in groups. Give it on your membership page.")
            if not by_staff
            else _l("This member has not consented to being placed in groups.")
        )
    if not by_staff and not group.recruiting:
        raise Forbidden(_l("This group is not taking new members."))
    if link_of(group, membership) is not None:
        raise Conflict(_l("Already in this group."))
    if role not in GROUP_ROLES:
        raise DomainError(_l("Choose a role."), field="role")
    link = GroupMember(
        group_id=group.id,
        membership_id=membership.id,
        role=role,
        custom_role=(custom_role or "").strip()[:100] if role == "custom" else "",
        added_by_id=actor_id,
    )
    # The link first: a double click's second request stops here (unique group + membership),
    # before it could count the member twice. Both in one savepoint, so a full group leaves no link.
    with db.session.begin_nested():
        if not add_once(link):
            raise Conflict(_l("Already in this group."))
        _take_seat(group)
    db.session.expire(membership, ["group_links"])
    audit.record(
        "group.member_added",
        "group",
        group.id,
        after={"membership_id": membership.id, "role": role, "by_staff": by_staff},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    return link


def remove_link(link: GroupMember) -> None:
    """Take a member out of a group and free their place."""
    db.session.execute(
        update(Group)
        .where(Group.id == link.group_id, Group.member_count > 0)
        .values(member_count=Group.member_count - 1)
        .execution_options(synchronize_session=False)
    )
    group = link.group
    if link in link.membership.group_links:
        link.membership.group_links.remove(link)
    db.session.delete(link)
    db.session.flush()
    db.session.refresh(group)


def leave(group: Group, membership: Membership, actor_id: int | None) -> None:
    link = link_of(group, membership)
    if link is None:
        raise NotFound(_l("Not in this group."))
    remove_link(link)
    audit.record(
        "group.member_removed",
        "group",
        group.id,
        before={"membership_id": membership.id, "role": link.role},
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )


def set_role(link: GroupMember, role: str, custom_role: str, actor_id: int | None) -> GroupMember:
    if role not in GROUP_ROLES:
        raise DomainError(_l("Choose a role."), field="role")
    custom_role = (custom_role or "").strip()[:100]
    if role == "custom" and not custom_role:
        raise DomainError(_l("Write the role."), field="custom_role")
    before = {"role": link.role, "custom_role": link.custom_role}
    link.role, link.custom_role = role, custom_role if role == "custom" else ""
    db.session.flush()
    audit.record(
        "group.role_changed",
        "group",
        link.group_id,
        before,
        {"role": link.role, "custom_role": link.custom_role},
        actor_id=actor_id,
        subject_user_id=link.membership.user_id,
    )
    return link


def role_label(link: GroupMember) -> str:
    if link.role == "custom" and link.custom_role:
        return link.custom_role
    return str(ROLE_LABELS[link.role])
