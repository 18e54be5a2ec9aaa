"""Migration b1a0c0de0002 finishes memberships that were ended the old way (status set directly):
an end date, out of every group (counts recomputed), titles ended. Run with `flask db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def _upgrade(url: str, tmp_path: Path, revision: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FELAG_ENV")}
    env.update(
        FLASK_APP="wsgi",
        DATABASE_URL=url,
        INSTANCE_PATH=str(tmp_path),
        TIMEZONE="Europe/Copenhagen",
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade", revision],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _insert(conn, table: str, **values) -> int:
    """A row with the given values; other required columns get a plain value of their type."""
    columns = sa.Table(table, sa.MetaData(), autoload_with=conn).columns
    for column in columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        if column.server_default is not None:
            continue
        python_type = column.type.python_type
        values[column.name] = {
            int: 0,
            str: "",
            bool: False,
            date: date(2020, 1, 1),
            datetime: datetime(2020, 1, 1, tzinfo=UTC),
            dict: {},
            list: [],
        }[python_type]
    table_ = sa.table(table, *(sa.column(name) for name in values))
    stmt = sa.insert(table_).values(**values)
    if "id" in columns:
        return conn.execute(stmt.returning(sa.column("id"))).scalar()
    conn.execute(stmt)
    return 0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, services, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backfill.db'}"
        return
    if not services["postgres"]:
        pytest.skip("PostgreSQL is not running")
    name = services["database_name"] + "_backfill"
    admin = sa.create_engine(
        services["database_url"].rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield services["database_url"].rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_memberships_ended_the_old_way_are_finished(database, tmp_path):
    _upgrade(database, tmp_path, "b1a0c0de0001")
    engine = sa.create_engine(database)
    with engine.begin() as conn:
        users = [
            _insert(conn, "users", email=f"p{n}@example.org", name=f"P{n}", locale="is")
            for n in range(4)
        ]
        # Resigned through the old edit form at 23:30 UTC on 31 May (1 June in Copenhagen),
        # still in a group, with a title open.
        old_way = _insert(conn, "memberships", user_id=users[0], status="resigned")
        _insert(
            conn,
            "membership_events",
            membership_id=old_way,
            action="edited",
            from_status="active",
            to_status="resigned",
            at=datetime(2025, 5, 31, 23, 30, tzinfo=UTC),
        )
        # Rejected through the old form while active: out of groups, titles ended, no end date.
        rejected = _insert(
            conn,
            "memberships",
            user_id=users[1],
            status="rejected",
            updated_at=datetime(2025, 3, 2, 12, 0, tzinfo=UTC),
        )
        # Ended properly, and one still active: untouched.
        proper = _insert(
            conn, "memberships", user_id=users[2], status="resigned", ended_on=date(2024, 8, 1)
        )
        active = _insert(conn, "memberships", user_id=users[3], status="active")
        group = _insert(
            conn, "member_groups", name="Cell", slug="cell", kind="cell", member_count=3
        )
        for membership in (old_way, rejected, active):
            _insert(conn, "group_members", group_id=group, membership_id=membership, role="member")
        titles = {
            "old_open": _insert(
                conn,
                "member_titles",
                membership_id=old_way,
                kind="chair",
                starts_on=date(2024, 1, 1),
            ),
            "old_later": _insert(
                conn,
                "member_titles",
                membership_id=old_way,
                kind="treasurer",
                starts_on=date(2024, 1, 1),
                ends_on=date(2026, 12, 31),
            ),
            "rejected_open": _insert(
                conn,
                "member_titles",
                membership_id=rejected,
                kind="secretary",
                starts_on=date(2024, 6, 1),
            ),
            "proper_past": _insert(
                conn,
                "member_titles",
                membership_id=proper,
                kind="chair",
                starts_on=date(2020, 1, 1),
                ends_on=date(2021, 1, 1),
            ),
            "active_open": _insert(
                conn,
                "member_titles",
                membership_id=active,
                kind="vice_chair",
                starts_on=date(2024, 1, 1),
            ),
        }
    _upgrade(database, tmp_path, "b1a0c0de0002")

    with engine.connect() as conn:
        ended_on = dict(conn.execute(sa.text("SELECT id, ended_on FROM memberships")).all())
        title_ends = dict(conn.execute(sa.text("SELECT id, ends_on FROM member_titles")).all())
        linked = conn.execute(sa.text("SELECT membership_id FROM group_members")).scalars().all()
        count = conn.execute(sa.text("SELECT member_count FROM member_groups")).scalar()
    engine.dispose()

    def day(value):
        return date.fromisoformat(value) if isinstance(value, str) else value

    assert day(ended_on[old_way]) == date(2025, 6, 1)
    assert ended_on[rejected] is None  # an application refused has no end date
    assert day(ended_on[proper]) == date(2024, 8, 1) and ended_on[active] is None
    assert linked == [active] and count == 1
    assert day(title_ends[titles["old_open"]]) == date(2025, 6, 1)
    assert day(title_ends[titles["old_later"]]) == date(2025, 6, 1)
    assert day(title_ends[titles["rejected_open"]]) == date(2025, 3, 2)
    assert day(title_ends[titles["proper_past"]]) == date(2021, 1, 1)
    assert title_ends[titles["active_open"]] is None
