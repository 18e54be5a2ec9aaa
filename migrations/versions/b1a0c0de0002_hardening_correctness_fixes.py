"""hardening correctness fixes

Data only: memberships that were ended the old way (the staff form or the API set the status
directly) are finished as ending one does today: an end date, out of every group (the groups'
counts recomputed), their titles ended.

Revision ID: b1a0c0de0002
Revises: b1a0c0de0001
Create Date: 2026-12-02 06:40:00

"""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b1a0c0de0002"
down_revision = "b1a0c0de0001"
branch_labels = None
depends_on = None

ENDED = ("resigned", "rejected")

memberships = sa.table(
    "memberships",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("ended_on", sa.Date),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
events = sa.table(
    "membership_events",
    sa.column("membership_id", sa.Integer),
    sa.column("to_status", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
)
links = sa.table(
    "group_members",
    sa.column("membership_id", sa.Integer),
    sa.column("group_id", sa.Integer),
)
groups = sa.table(
    "member_groups", sa.column("id", sa.Integer), sa.column("member_count", sa.Integer)
)
titles = sa.table(
    "member_titles",
    sa.column("id", sa.Integer),
    sa.column("membership_id", sa.Integer),
    sa.column("starts_on", sa.Date),
    sa.column("ends_on", sa.Date),
)


def _timezone() -> ZoneInfo:
    """The organisation's timezone: the app's setting when run by `flask db upgrade`."""
    try:
        from flask import current_app

        return ZoneInfo(current_app.config["TIMEZONE"])
    except RuntimeError:  # outside an application context
        return ZoneInfo(os.environ.get("TIMEZONE", "Europe/Copenhagen"))


def _local_date(value, tz: ZoneInfo):
    if value is None:
        value = datetime.now(UTC)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()


def upgrade():
    conn = op.get_bind()
    tz = _timezone()
    ended = sa.select(memberships.c.id).where(memberships.c.status.in_(ENDED))
    has_link = sa.exists().where(links.c.membership_id == memberships.c.id)
    open_title = sa.exists().where(
        titles.c.membership_id == memberships.c.id, titles.c.ends_on.is_(None)
    )
    unfinished = conn.execute(
        sa.select(
            memberships.c.id, memberships.c.status, memberships.c.ended_on, memberships.c.updated_at
        )
        .where(
            memberships.c.status.in_(ENDED),
            sa.or_(
                has_link,
                open_title,
                (memberships.c.status == "resigned") & memberships.c.ended_on.is_(None),
            ),
        )
        .order_by(memberships.c.id)
    ).all()
    for row in unfinished:
        end_day = row.ended_on
        if end_day is None:
            # The day it moved into its present status, as far as its history tells.
            moved = conn.execute(
                sa.select(events.c.at)
                .where(events.c.membership_id == row.id, events.c.to_status == row.status)
                .order_by(events.c.at.desc())
                .limit(1)
            ).scalar()
            end_day = _local_date(moved or row.updated_at, tz)
        if row.status == "resigned" and row.ended_on is None:
            conn.execute(
                sa.update(memberships).where(memberships.c.id == row.id).values(ended_on=end_day)
            )
        for title in conn.execute(
            sa.select(titles.c.id, titles.c.starts_on).where(
                titles.c.membership_id == row.id,
                sa.or_(titles.c.ends_on.is_(None), titles.c.ends_on > end_day),
            )
        ).all():
            conn.execute(
                sa.update(titles)
                .where(titles.c.id == title.id)
                .values(ends_on=max(end_day, title.starts_on))
            )
    conn.execute(sa.delete(links).where(links.c.membership_id.in_(ended)))
    conn.execute(
        sa.update(groups).values(
            member_count=sa.select(sa.func.count())
            .select_from(links)
            .where(links.c.group_id == groups.c.id)
            .scalar_subquery()
        )
    )


def downgrade():
    pass  # the old, inconsistent state is not worth restoring
