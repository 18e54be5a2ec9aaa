"""Titles held over time (chair, treasurer, ...), optionally within a group; the board."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core import audit
from app.core.errors import Conflict, DomainError
from app.core.timeutil import local_today
from app.extensions import db
from app.members.models import TITLE_KINDS, Group, Membership, Title
from app.members.validation import _date, _text

TITLE_LABELS = {
    "chair": _l("Chair"),
    "vice_chair": _l("Vice-chair"),
    "treasurer": _l("Treasurer"),
    "secretary": _l("Secretary"),
    "board_member": _l("Board member"),
    "substitute": _l("Substitute"),
    "custom": _l("Other title"),
}


def current_titles(membership: Membership, on: date | None = None) -> list[Title]:
    on = on or local_today()
    return [
        t for t in membership.titles if t.starts_on <= on and (t.ends_on is None or t.ends_on >= on)
    ]


def title_label(title: Title) -> str:
    if title.kind == "custom" and title.custom_title:
        return title.custom_title
    return str(TITLE_LABELS[title.kind])


def current_board(on: date | None = None) -> list[Title]:
    """The titles held today outside any group (the board), in the order of the positions."""
    on = on or local_today()
    titles = db.session.scalars(
        select(Title)
        .join(Membership)
        .where(
            Title.group_id.is_(None),
            Title.starts_on <= on,
            (Title.ends_on.is_(None)) | (Title.ends_on >= on),
            Membership.status == "active",
            Membership.is_test.is_(False),
        )
    ).all()
    order = {kind: i for i, kind in enumerate(TITLE_KINDS)}
    return sorted(titles, key=lambda t: (order[t.kind], t.membership.full_name))


def add_title(
    membership: Membership,
    kind: str,
    starts_on: Any,
    ends_on: Any = None,
    custom_title: str = "",
    group: Group | None = None,
    actor_id: int | None = None,
) -> Title:
    """Give a member a title from a date (to a date, or open), optionally within a group."""
    if kind not in TITLE_KINDS:
        raise DomainError(_l("Choose a title."), field="kind")
    custom_title = _text("custom_title", custom_title)[:100]
    if kind == "custom" and not custom_title:
        raise DomainError(_l("Write the title."), field="custom_title")
    starts = _date("starts_on", starts_on)
    if starts is None:
        raise DomainError(_l("Give the date the title starts."), field="starts_on")
    ends = _date("ends_on", ends_on)
    if ends is not None and ends < starts:
        raise DomainError(_l("The end cannot be before the start."), field="ends_on")
    if membership.status != "active":
        raise Conflict(_l("Only an active member can hold a title."))
    title = Title(
        membership=membership,
        kind=kind,
        custom_title=custom_title if kind == "custom" else "",
        group=group,
        starts_on=starts,
        ends_on=ends,
    )
    db.session.add(title)
    db.session.flush()
    audit.record(
        "member.title_added",
        "membership",
        membership.id,
        after={
            "title_id": title.id,
            "kind": kind,
            "custom_title": title.custom_title,
            "group_id": group.id if group else None,
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat() if ends else None,
        },
        actor_id=actor_id,
        subject_user_id=membership.user_id,
    )
    return title


def end_title(title: Title, ends_on: Any, actor_id: int | None) -> Title:
    ends = _date("ends_on", ends_on) or local_today()
    if ends < title.starts_on:
        raise DomainError(_l("The end cannot be before the start."), field="ends_on")
    before = title.ends_on.isoformat() if title.ends_on else None
    title.ends_on = ends
    db.session.flush()
    audit.record(
        "member.title_ended",
        "membership",
        title.membership_id,
        {"title_id": title.id, "ends_on": before},
        {"title_id": title.id, "ends_on": ends.isoformat()},
        actor_id=actor_id,
        subject_user_id=title.membership.user_id,
    )
    return title
