"""Who may vote: the electorate rule of a poll, and its snapshot taken when the poll opens."""

from __future__ import annotations

from sqlalchemy import Select, func, insert, literal, select

from app.auth.models import User
from app.events.models import Registration
from app.extensions import db
from app.members.models import GroupMember, Membership
from app.polls.models import Elector, Poll


def _rule(poll: Poll) -> Select:
    """SELECT the ids of the users the poll's electorate rule admits right now."""
    active_users = select(User.id).where(User.is_active_account.is_(True))
    kind = poll.electorate_kind
    if kind == "users":
        return active_users.where(User.email_verified_at.is_not(None))
    if kind == "members":
        return active_users.join(Membership, Membership.user_id == User.id).where(
            Membership.status == "active"
        )
    if kind == "group":
        return (
            active_users.join(Membership, Membership.user_id == User.id)
            .join(GroupMember, GroupMember.membership_id == Membership.id)
            .where(Membership.status == "active", GroupMember.group_id == poll.group_id)
        )
    if kind == "event":
        return active_users.join(Registration, Registration.user_id == User.id).where(
            Registration.event_id == poll.event_id, Registration.state == "confirmed"
        )
    raise ValueError(f"unknown electorate kind {kind!r}")


def freeze_electorate(poll: Poll) -> int:
    """Snapshot the eligible user ids into the electorate; once per poll. Returns its size.

    Called when the poll opens: who joins later cannot vote, who leaves keeps the right they had.
    """
    already = db.session.scalar(select(func.count()).where(Elector.poll_id == poll.id))
    if not already:
        rule = _rule(poll).distinct()
        db.session.execute(
            insert(Elector).from_select(
                ["poll_id", "user_id"],
                select(literal(poll.id), rule.subquery().c.id),
            )
        )
        already = db.session.scalar(select(func.count()).where(Elector.poll_id == poll.id))
    poll.electorate_size = already or 0
    db.session.flush()
    return poll.electorate_size


def is_frozen(poll: Poll) -> bool:
    """Whether the poll's electorate has been fixed (it has opened)."""
    return poll.opened_at is not None or poll.status in ("open", "closed", "published")


def eligible(poll: Poll, user) -> bool:
    """May this user vote in this poll: in the frozen electorate, or (before opening) the rule."""
    if user is None or not getattr(user, "is_authenticated", False) or user.id is None:
        return False
    if is_frozen(poll):
        return (
            db.session.scalar(
                select(Elector.id).where(Elector.poll_id == poll.id, Elector.user_id == user.id)
            )
            is not None
        )
    return db.session.scalar(_rule(poll).where(User.id == user.id).limit(1)) is not None


def preview_size(poll: Poll) -> int:
    """How many people the rule admits now (the size the electorate would have if opened now)."""
    return db.session.scalar(select(func.count()).select_from(_rule(poll).distinct().subquery()))
