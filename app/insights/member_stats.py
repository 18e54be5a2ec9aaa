"""Membership statistics, grouped in the database: each function returns rows of
(key, [values]) for app/insights/charts.py to label. Test records are left out."""

from __future__ import annotations

from flask import g
from sqlalchemy import and_, case, func, literal, or_, select

from app.extensions import db
from app.insights.periods import Period
from app.insights.sql import month_of, seconds_between
from app.members.models import CONSENT_KINDS, Consent, Group, Membership

AGE_BANDS = ((0, 17), (18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, None))
GENDERS = ("female", "male", "nonbinary", "other", "")
MUNICIPALITY_ROWS = 25

REAL = Membership.is_test.is_(False)
ACTIVE = and_(Membership.status == "active", REAL)


def joined_and_ended(period: Period) -> list:
    """Per month: members who joined, who left, and the net change."""
    # The page shows this and the running total from it: read once per request.
    memo = g.setdefault("insights_joined", {})
    if period not in memo:
        memo[period] = _joined_and_ended(period)
    return memo[period]


def _joined_and_ended(period: Period) -> list:
    joined = dict(
        db.session.execute(
            select(month_of(Membership.joined_on), func.count())
            .where(REAL, Membership.joined_on.between(period.start, period.end))
            .group_by(month_of(Membership.joined_on))
        ).all()
    )
    ended = dict(
        db.session.execute(
            select(month_of(Membership.ended_on), func.count())
            .where(REAL, Membership.ended_on.between(period.start, period.end))
            .group_by(month_of(Membership.ended_on))
        ).all()
    )
    return [
        (m, [joined.get(m, 0), ended.get(m, 0), joined.get(m, 0) - ended.get(m, 0)])
        for m in period.months
    ]


def active_over_time(period: Period) -> list:
    """Members at the end of each month: those in at the start plus the running net change."""
    at_start = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            REAL,
            Membership.joined_on < period.start,
            or_(Membership.ended_on.is_(None), Membership.ended_on >= period.start),
        )
    )
    rows, total = [], at_start or 0
    for month, (_joined, _ended, net) in joined_and_ended(period):
        total += net
        rows.append((month, [total]))
    return rows


def _age_band(year: int):
    age = literal(year) - Membership.birth_year
    whens = []
    for n, (low, high) in enumerate(AGE_BANDS):
        whens.append((age <= high if high is not None else age >= low, n))
    return case((Membership.birth_year.is_(None), -1), *whens, else_=len(AGE_BANDS) - 1)


def active_profile(year: int) -> list[tuple[str, str, int, str, int]]:
    """Active members counted by (region, municipality, age band, gender) in one grouped scan,
    read once per request: the place, age and consent charts add these few rows up."""
    memo = g.setdefault("insights_profile", {})
    if year not in memo:
        band = _age_band(year)
        gender = case((Membership.gender.in_(GENDERS[:-1]), Membership.gender), else_="")
        columns = (Membership.region, Membership.municipality, band, gender)
        memo[year] = [
            (region or "", municipality or "", b, sex, n)
            for region, municipality, b, sex, n in db.session.execute(
                select(*columns, func.count()).where(ACTIVE).group_by(*columns)
            ).all()
        ]
    return memo[year]


def _sum_by(rows, pick) -> dict:
    totals: dict = {}
    for row in rows:
        totals[pick(row)] = totals.get(pick(row), 0) + row[-1]
    return totals


def _largest_first(totals: dict, limit: int | None = None) -> list:
    result = [(key, [n]) for key, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    if limit is not None and len(result) > limit:
        rest = sum(values[0] for _key, values in result[limit:])
        result = result[:limit] + [("__other__", [rest])]
    return result


def by_region(period: Period) -> list:
    """Active members per region (today; the period does not apply)."""
    return _largest_first(_sum_by(active_profile(period.end.year), lambda r: r[0]))


def by_municipality(period: Period) -> list:
    """Active members per municipality, the largest first, the rest as 'other'."""
    totals = _sum_by(active_profile(period.end.year), lambda r: r[1])
    return _largest_first(totals, MUNICIPALITY_ROWS)


def by_age_and_gender(period: Period) -> list:
    """Active members per age band (age reached in the period's last year) and gender."""
    counts = _sum_by(active_profile(period.end.year), lambda r: (r[2], r[3]))
    keys = list(range(len(AGE_BANDS))) + [-1]
    return [(b, [counts.get((b, sex), 0) for sex in GENDERS]) for b in keys]


def group_sizes(period: Period) -> list:
    """Members per group, the largest first (at most 40 groups)."""
    rows = db.session.execute(
        select(Group.name, Group.member_count)
        .order_by(Group.member_count.desc(), Group.name)
        .limit(40)
    ).all()
    return [(name, [count]) for name, count in rows]


def applications(period: Period) -> list:
    """Per month of application: approved, rejected, still waiting."""
    outcome = case(
        (Membership.status == "applied", "waiting"),
        (Membership.status == "rejected", "rejected"),
        else_="approved",
    )
    counts = {
        (m, o): n
        for m, o, n in db.session.execute(
            select(month_of(Membership.applied_at), outcome, func.count())
            .where(
                REAL,
                Membership.applied_at >= period.start_at,
                Membership.applied_at < period.end_at,
            )
            .group_by(month_of(Membership.applied_at), outcome)
        ).all()
    }
    outcomes = ("approved", "rejected", "waiting")
    return [(m, [counts.get((m, o), 0) for o in outcomes]) for m in period.months]


def approval_days(period: Period) -> list:
    """Per month of decision: decisions made and the average days from application to it."""
    days = seconds_between(Membership.applied_at, Membership.decided_at) / 86400.0
    rows = {
        m: (n, avg)
        for m, n, avg in db.session.execute(
            select(month_of(Membership.decided_at), func.count(), func.avg(days))
            .where(
                REAL,
                Membership.applied_at.is_not(None),
                Membership.decided_at >= period.start_at,
                Membership.decided_at < period.end_at,
            )
            .group_by(month_of(Membership.decided_at))
        ).all()
    }
    return [
        (
            m,
            [rows[m][0], round(float(rows[m][1]), 1) if rows[m][1] is not None else None]
            if m in rows
            else [0, None],
        )
        for m in period.months
    ]


def consent_rates(period: Period) -> list:
    """Per kind of consent: active members who gave it, of all active members, as a percent."""
    total = sum(row[-1] for row in active_profile(period.end.year))
    active_users = select(Membership.user_id).where(ACTIVE)
    given = dict(
        db.session.execute(
            select(Consent.kind, func.count())
            .where(Consent.given.is_(True), Consent.user_id.in_(active_users))
            .group_by(Consent.kind)
        ).all()
    )
    return [
        (
            kind,
            [
                given.get(kind, 0),
                total,
                round(100.0 * given.get(kind, 0) / total, 1) if total else 0,
            ],
        )
        for kind in CONSENT_KINDS
    ]
