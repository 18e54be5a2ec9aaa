"""Who sees what of a poll: the voter's list, and when results may be shown."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import ScalarSelect, exists, func, select

from app.core import glance
from app.core.security import has_role
from app.extensions import db
from app.polls.electorate import eligible
from app.polls.models import Elector, Participation, Poll

STAFF_ROLES = ("membership",)  # admins too: has_role treats admin as every role
YES_NO_LABELS = {"yes": _l("Yes"), "no": _l("No"), "abstain": _l("Abstain")}


def is_poll_staff(user) -> bool:
    """Membership staff and admins run polls and see every result."""
    return has_role(user, *STAFF_ROLES)


def option_label(option) -> str:
    """What a person reads for an option (yes/no/abstain in their language)."""
    return str(YES_NO_LABELS[option.value]) if option.value else option.text


def results_visible(poll: Poll, user) -> bool:
    """Published results to everyone signed in; live results to the electorate while the poll
    runs and until publication; staff once it has closed, or while it runs if it is live or open.

    A secret poll whose results come after closing shows staff nothing while it runs: counts
    watched beside the list of who has voted would tell how each new voter voted.
    """
    if poll.status == "published":
        return True
    if poll.status not in ("open", "closed"):
        return False
    if is_poll_staff(user):
        return poll.status == "closed" or poll.results_mode == "live" or not poll.secret
    return poll.results_mode == "live" and eligible(poll, user)


@glance.item("polls_waiting")
def polls_waiting_for(user_id, now=None) -> ScalarSelect:
    """How many open polls this person may vote in and has not voted in yet (my page's card)."""
    voted = exists().where(Participation.poll_id == Poll.id, Participation.user_id == user_id)
    return (
        select(func.count())
        .select_from(Poll)
        .join(Elector, Elector.poll_id == Poll.id)
        .where(Elector.user_id == user_id, Poll.status == "open", ~voted)
        .scalar_subquery()
    )


def voter_polls(user) -> tuple[list[Poll], list[Poll]]:
    """(open polls I may vote in, closing soonest first; polls whose results are published)."""
    mine = (
        select(Poll)
        .join(Elector, Elector.poll_id == Poll.id)
        .where(Elector.user_id == user.id, Poll.status == "open")
        .order_by(Poll.closes_at.is_(None), Poll.closes_at, Poll.id)
    )
    published = (
        select(Poll)
        .where(Poll.status == "published")
        .order_by(Poll.closes_at.desc(), Poll.id.desc())
        .limit(50)
    )
    return list(db.session.scalars(mine)), list(db.session.scalars(published))
