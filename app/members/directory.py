"""The member directory: search, filters and sorting (staff pages, CSV export, the API)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager

from app.auth.models import User
from app.core import audit
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.extensions import db
from app.members import national_id
from app.members.columns import column_label
from app.members.models import (
    MEMBERSHIP_STATUSES,
    Consent,
    Group,
    GroupMember,
    Membership,
    UnionMembership,
)
from app.members.records import RECORD_FIELDS

SORTS = {
    "name": (Membership.full_name.asc(), Membership.id.asc()),
    "-name": (Membership.full_name.desc(), Membership.id.desc()),
    "joined": (Membership.joined_on.asc().nulls_last(), Membership.id.asc()),
    "-joined": (Membership.joined_on.desc().nulls_last(), Membership.id.desc()),
    "status": (Membership.status.asc(), Membership.full_name.asc(), Membership.id.asc()),
    "newest": (Membership.id.desc(),),
}
SORT_LABELS = {
    "name": _l("Name A-Z"),
    "-name": _l("Name Z-A"),
    "joined": _l("Joined, oldest first"),
    "-joined": _l("Joined, newest first"),
    "status": _l("Status"),
    "newest": _l("Newest record first"),
}


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class MemberFilter:
    """What the directory shows; the same filter drives the page, the export and the API."""

    q: str = ""
    status: str = ""
    group: int | None = None
    municipality: str = ""
    joined_from: date | None = None
    joined_to: date | None = None
    include_test: bool = False
    erasure: bool = False
    sort: str = "name"

    @classmethod
    def from_args(cls, args) -> MemberFilter:
        """From query-string arguments; values that make no sense are ignored."""
        status = args.get("status", "")
        group = args.get("group", "")
        sort = args.get("sort", "name")
        return cls(
            q=(args.get("q") or "").strip()[:100],
            status=status if status in MEMBERSHIP_STATUSES else "",
            group=int(group) if str(group).isdigit() else None,
            municipality=(args.get("municipality") or "").strip()[:100],
            joined_from=_parse_date(args.get("joined_from")),
            joined_to=_parse_date(args.get("joined_to")),
            include_test=args.get("include_test") in ("1", "true", "on", "yes"),
            erasure=args.get("erasure") in ("1", "true", "on", "yes"),
            sort=sort if sort in SORTS else "name",
        )

    def to_args(self) -> dict[str, str]:
        """Query-string arguments that rebuild this filter (empty values left out)."""
        args: dict[str, str] = {}
        for key, value in asdict(self).items():
            if value in (None, "", False) or (key == "sort" and value == "name"):
                continue
            args[key] = "1" if value is True else str(value)
        return args


def _search(stmt: Select, q: str) -> Select:
    """Name, e-mail, phone, or an exact national ID (through its keyed hash)."""
    if "@" in q:
        like = contains_pattern(q.lower())
        return stmt.where(
            or_(
                User.email.like(like, escape=LIKE_ESCAPE),
                Membership.secondary_email.like(like, escape=LIKE_ESCAPE),
            )
        )
    digits = re.sub(r"\D", "", q)
    if digits and re.fullmatch(r"[\d\s\-+()./]+", q):
        conditions = [Membership.national_id_hash == national_id.lookup(q)]
        if len(digits) >= 3:
            conditions.append(Membership.phone_digits.like(f"%{digits}%"))
        return stmt.where(or_(*conditions))
    normalised = national_id.normalise(q)
    words = [w for w in q.split() if w]
    name_match = and_(
        *[Membership.full_name.ilike(contains_pattern(w), escape=LIKE_ESCAPE) for w in words]
    )
    return stmt.where(
        or_(name_match, Membership.national_id_hash == national_id.lookup(normalised))
    )


def member_query(flt: MemberFilter, join_user: bool = False) -> Select:
    """A select of memberships matching the filter, sorted; each comes with its user (eagerly).

    The users table is joined only when needed (an e-mail search, or join_user for columns of
    users), so that counting and browsing stay on the memberships table and its indexes.
    """
    stmt = select(Membership)
    if join_user or "@" in flt.q:
        stmt = stmt.join(User, Membership.user_id == User.id).options(
            contains_eager(Membership.user)
        )
    if not flt.include_test:
        stmt = stmt.where(Membership.is_test.is_(False))
    if flt.q:
        stmt = _search(stmt, flt.q)
    if flt.status:
        stmt = stmt.where(Membership.status == flt.status)
    if flt.group:
        stmt = stmt.where(
            Membership.id.in_(
                select(GroupMember.membership_id).where(GroupMember.group_id == flt.group)
            )
        )
    if flt.municipality:
        stmt = stmt.where(func.lower(Membership.municipality) == flt.municipality.lower())
    if flt.joined_from:
        stmt = stmt.where(Membership.joined_on >= flt.joined_from)
    if flt.joined_to:
        stmt = stmt.where(Membership.joined_on <= flt.joined_to)
    if flt.erasure:
        stmt = stmt.where(
            Membership.erasure_requested_at.is_not(None), Membership.anonymised_at.is_(None)
        )
    return stmt.order_by(*SORTS[flt.sort])


def municipalities() -> list[str]:
    """The municipalities members live in (for the filter's choices)."""
    return list(
        db.session.scalars(
            select(Membership.municipality)
            .where(Membership.municipality != "")
            .distinct()
            .order_by(Membership.municipality)
        )
    )


def counts_by_status(include_test: bool = False) -> dict[str, int]:
    stmt = select(Membership.status, func.count()).group_by(Membership.status)
    if not include_test:
        stmt = stmt.where(Membership.is_test.is_(False))
    found = dict(db.session.execute(stmt).all())
    return {status: found.get(status, 0) for status in MEMBERSHIP_STATUSES}


# -- Export (CSV or XLSX) ------------------------------------------------------------------------

# The record's own fields in the order of the member form, between who and since when.
EXPORT_COLUMNS = (
    "id",
    "status",
    "full_name",
    "email",
    "national_id_country",
    "national_id",
    *(field for field in RECORD_FIELDS if field != "full_name"),
    "joined_on",
    "ended_on",
    "unions",
    "groups",
    "reachable",
    "groupable",
    "newsletter",
    "is_test",
)


def _consent_column(kind: str):
    return (
        select(Consent.given)
        .where(Consent.user_id == Membership.user_id, Consent.kind == kind)
        .scalar_subquery()
        .label(kind)
    )


_PLAIN_COLUMNS = tuple(
    c
    for c in EXPORT_COLUMNS
    if c not in ("email", "national_id", "unions", "groups", "reachable", "groupable", "newsletter")
)


def _batch_lists(ids: list[int]) -> tuple[dict[int, str], dict[int, str]]:
    """Unions and group slugs of a batch of members, two queries per batch (not per row)."""
    unions: dict[int, list[str]] = {}
    for member_id, union, number in db.session.execute(
        select(UnionMembership.membership_id, UnionMembership.union, UnionMembership.member_number)
        .where(UnionMembership.membership_id.in_(ids))
        .order_by(UnionMembership.id)
    ):
        unions.setdefault(member_id, []).append(f"{union}:{number}" if number else union)
    slugs: dict[int, list[str]] = {}
    for member_id, slug in db.session.execute(
        select(GroupMember.membership_id, Group.slug)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.membership_id.in_(ids))
    ):
        slugs.setdefault(member_id, []).append(slug)
    return (
        {k: "; ".join(v) for k, v in unions.items()},
        {k: "; ".join(sorted(v)) for k, v in slugs.items()},
    )


def export_rows(flt: MemberFilter, batch: int = 1000) -> Iterator[list[Any]]:
    """Rows of the export: plain columns (no ORM objects) fetched from a server-side cursor in
    batches, so that memory stays flat however many members there are."""
    from app.members.lifecycle import STATUS_LABELS

    columns = [getattr(Membership, c) for c in _PLAIN_COLUMNS]
    stmt = member_query(flt, join_user=True).with_only_columns(
        *columns,
        Membership.national_id_encrypted,
        User.email,
        _consent_column("reachable"),
        _consent_column("groupable"),
        _consent_column("newsletter"),
        maintain_column_froms=False,
    )
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    for rows in result.partitions():
        unions, slugs = _batch_lists([row.id for row in rows])
        for row in rows:
            values = row._asdict()
            number = national_id.decrypt(values.pop("national_id_encrypted"))
            values["national_id"] = national_id.display(values["national_id_country"], number)
            values["unions"] = unions.get(row.id, "")
            values["groups"] = slugs.get(row.id, "")
            label = STATUS_LABELS.get(values["status"])
            values["status"] = str(label) if label is not None else values["status"]
            for kind in ("reachable", "groupable", "newsletter"):
                values[kind] = bool(values[kind])
            yield [values[c] for c in EXPORT_COLUMNS]


def _loggable(flt: MemberFilter) -> dict[str, str]:
    """The filter for the audit log; a search that is someone's national ID is logged masked."""
    args = flt.to_args()
    query = args.get("q", "")
    normalised = national_id.normalise(query)
    if query and (
        re.fullmatch(r"\d{10}", normalised)
        or db.session.scalar(
            select(Membership.id).where(Membership.national_id_hash == national_id.lookup(query))
        )
    ):
        args["q"] = national_id.mask("IS" if len(normalised) == 10 else "", normalised)
    return args


def export_table(flt: MemberFilter, actor_id: int) -> tuple[list[str], Iterator[list[Any]]]:
    """The export's headers (in the reader's language) and its rows, streamed; the audit entry
    for the export is added now (the caller commits before the first row goes out)."""
    count = db.session.scalar(select(func.count()).select_from(member_query(flt).subquery()))
    audit.record(
        "members.exported",
        "membership",
        None,
        after={"filter": _loggable(flt), "count": count},
        actor_id=actor_id,
    )
    return [column_label(c) for c in EXPORT_COLUMNS], export_rows(flt)
