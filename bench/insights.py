"""Insights benchmark: the staff dashboard and every statistics page with 20,000 members and
100,000 registrations on PostgreSQL.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/insights.py                    # 20,000 members, 100,000 registrations
    .venv/bin/python bench/insights.py --members 2000 --registrations 10000 --requests 5

Steps: (1) drop and create the database felag_bench_insights and build the schema with
create_all; (2) bulk-insert (SQLAlchemy Core, many rows per statement) the users, memberships
(active, ended, applied, rejected; places, birth years, genders, join dates over ten years),
consents, groups and their members, 200 events over the past year and the next two weeks with
500 registrations each (confirmed, waiting, cancelled; check-ins at past events), open
conversations, failed jobs and an open poll, then ANALYZE; (3) serve the app with gunicorn (2
sync workers, bench/gunicorn.conf.py) with the statistics cache off (STATS_CACHE_SECONDS=0), log
in as an admin over HTTP, and time --requests requests of each page end to end, after one
warm-up request; (4) the same with the cache on (its default, 60 s): the first request fills it;
(5) write the table to stdout and bench/results/insights.txt: per page the first request, p50,
p95 and max of the rest (wall time, end to end), and the CPU time one request cost the gunicorn
worker and its PostgreSQL backend together (cpu/req, from /proc: on a busy machine the wall time
is mostly waiting for a core). The servers are always stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import events_common as common  # noqa: E402
import sqlalchemy as sa  # noqa: E402

DB_NAME = "felag_bench_insights"
ADMIN = ("bench-admin@felag.local", "bench-admin-password-123")
EVENTS = 200
CHUNK = 5000
TARGETS_MS = {"dashboard": 100, "stats": 300, "baseline": 100}

REGIONS = {
    "Höfuðborgarsvæðið": ["Reykjavík", "Kópavogur", "Hafnarfjörður", "Garðabær", "Mosfellsbær"],
    "Suðurnes": ["Reykjanesbær", "Grindavík"],
    "Vesturland": ["Akranes", "Borgarbyggð"],
    "Norðurland eystra": ["Akureyri", "Norðurþing"],
    "Suðurland": ["Árborg", "Hveragerði", "Vestmannaeyjar"],
    "Austurland": ["Múlaþing", "Fjarðabyggð"],
}
GENDERS = ["female", "male", "nonbinary", "", "other"]


def pages(event_id: int) -> list[tuple[str, str, str]]:
    """(name, path, kind) of every page measured."""
    return [
        ("baseline: /staff/tokens/ (no statistics)", "/staff/tokens/", "baseline"),
        ("dashboard /staff/", "/staff/", "dashboard"),
        ("members /staff/stats/members", "/staff/stats/members", "stats"),
        (
            "members, 5 years",
            "/staff/stats/members?from=2021-01-01&to=2025-12-31",
            "stats",
        ),
        ("events /staff/stats/events", "/staff/stats/events", "stats"),
        ("one event /staff/stats/events/<id>", f"/staff/stats/events/{event_id}", "stats"),
        ("public /stats/ (5 charts public)", "/stats/", "stats"),
    ]


def insert(conn, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start : start + CHUNK])


def generate(app, members: int, registrations: int) -> int:
    """Bulk-insert the data; returns the id of a past event with check-ins."""
    from sqlalchemy import text

    from app.auth.passwords import hash_password
    from app.auth.services import create_user
    from app.core.jobs import Job
    from app.events.models import Event, Registration
    from app.events.tickets import new_key_pair
    from app.extensions import db
    from app.inbox.models import Conversation
    from app.insights.models import PublicChart
    from app.members.models import Consent, Group, GroupMember, Membership
    from app.polls.models import Poll

    rng = random.Random(15)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    shared = hash_password("bench-password-not-used")
    with app.app_context():
        create_user(ADMIN[0], "Bench Admin", ADMIN[1], ["admin"], verified=True)
        db.session.commit()
        users = db.metadata.tables["users"]
        conn = db.session.connection()
        insert(
            conn,
            users,
            [
                {
                    "email": f"member{n:05d}@bench.local",
                    "name": f"Bench Person {n}",
                    "password_hash": shared,
                    "locale": ("da", "en", "is")[n % 3],
                    "email_verified_at": now,
                    "created_at": now,
                    "session_version": 1,
                    "is_active_account": True,
                }
                for n in range(members)
            ],
        )
        user_ids = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM users WHERE email LIKE 'member%' ORDER BY id")
            )
        ]
        log_rows = []
        for n, user_id in enumerate(user_ids):
            region = rng.choice(list(REGIONS))
            roll = rng.random()
            joined = today - timedelta(days=rng.randint(0, 3650))
            applied_at = datetime.combine(joined, datetime.min.time(), UTC) - timedelta(
                days=rng.randint(0, 20)
            )
            status, ended, decided = "active", None, applied_at + timedelta(days=rng.randint(0, 20))
            if roll < 0.12:
                status, ended = "resigned", joined + timedelta(days=rng.randint(30, 1500))
                ended = min(ended, today)
            elif roll < 0.135:
                status, joined, decided = "applied", None, None
                applied_at = now - timedelta(days=rng.randint(0, 40))
            elif roll < 0.145:
                status, joined = "rejected", None
            log_rows.append(
                {
                    "user_id": user_id,
                    "status": status,
                    "national_id_country": "IS",
                    "national_id_masked": "",
                    "full_name": f"Bench Person {n}",
                    "birth_year": None if rng.random() < 0.05 else rng.randint(1940, 2010),
                    "gender": rng.choice(GENDERS),
                    "phone": "",
                    "phone_digits": "",
                    "secondary_email": "",
                    "street": "Laugavegur",
                    "house_number": str(n % 200),
                    "apartment": "",
                    "postal_code": "101",
                    "city": "Reykjavík",
                    "municipality": rng.choice(REGIONS[region]),
                    "region": region,
                    "country": "IS",
                    "job_title": "",
                    "housing": "",
                    "joined_on": joined,
                    "ended_on": ended,
                    "applied_at": applied_at,
                    "decided_at": decided,
                    "decision_reason": "",
                    "is_test": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        insert(conn, Membership.__table__, log_rows)
        insert(
            conn,
            Consent.__table__,
            [
                {"user_id": u, "kind": kind, "given": rng.random() < p, "changed_at": now}
                for u in user_ids
                for kind, p in (("reachable", 0.9), ("groupable", 0.6), ("newsletter", 0.4))
            ],
        )
        insert(
            conn,
            Group.__table__,
            [
                {
                    "name": f"Cell {n}",
                    "slug": f"cell-{n}",
                    "kind": "cell",
                    "description": "",
                    "member_count": 0,
                    "recruiting": True,
                    "created_at": now,
                }
                for n in range(30)
            ],
        )
        group_ids = [r[0] for r in conn.execute(text("SELECT id FROM member_groups"))]
        membership_ids = [r[0] for r in conn.execute(text("SELECT id FROM memberships"))]
        links = {(rng.choice(group_ids), m) for m in rng.sample(membership_ids, members // 4)}
        insert(
            conn,
            GroupMember.__table__,
            [
                {
                    "group_id": g,
                    "membership_id": m,
                    "role": "member",
                    "custom_role": "",
                    "joined_at": now,
                }
                for g, m in links
            ],
        )
        conn.execute(
            text(
                "UPDATE member_groups g SET member_count = "
                "(SELECT count(*) FROM group_members l WHERE l.group_id = g.id)"
            )
        )
        private, public = new_key_pair()
        event_rows = []
        for n in range(EVENTS):
            # Most events in the past year, the last 20 in the next two weeks.
            if n < EVENTS - 20:
                starts = now - timedelta(days=365 * (EVENTS - 20 - n) / (EVENTS - 20), hours=2)
            else:
                starts = now + timedelta(days=(n - (EVENTS - 20)) * 0.7 + 0.5)
            event_rows.append(
                {
                    "title": f"Bench event {n}",
                    "slug": f"bench-event-{n}",
                    "summary": "",
                    "description_html": "",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=3),
                    "venue_name": "Folkets Hus",
                    "street": "",
                    "postal_code": "",
                    "city": "",
                    "country": "",
                    "online_url": "",
                    "capacity": 450,
                    "confirmed_count": 0,
                    "members_only": False,
                    "waiting_list_enabled": True,
                    "status": "published",
                    "published_at": starts - timedelta(days=30),
                    "signing_key_encrypted": private,
                    "public_key": public,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        insert(conn, Event.__table__, event_rows)
        events = conn.execute(text("SELECT id, starts_at FROM events ORDER BY id")).all()
        per_event = registrations // len(events)
        registration_rows = []
        for event_id, starts in events:
            for user_id in rng.sample(user_ids, per_event):
                created = starts - timedelta(days=rng.random() * 30)
                roll = rng.random()
                state = "confirmed" if roll < 0.85 else ("waiting" if roll < 0.92 else "cancelled")
                confirmed_at = None
                if state == "confirmed":
                    late = rng.random() < 0.05  # came off the waiting list
                    confirmed_at = created + timedelta(days=2 if late else 0, seconds=1)
                past = starts < now
                checked_in = (
                    starts + timedelta(minutes=rng.randint(-30, 60))
                    if state == "confirmed" and past and rng.random() < 0.8
                    else None
                )
                registration_rows.append(
                    {
                        "event_id": event_id,
                        "user_id": user_id,
                        "name": "Bench Person",
                        "email": "person@bench.local",
                        "state": state,
                        "created_at": created,
                        "waiting_since": created if state == "waiting" else None,
                        "confirmed_at": confirmed_at,
                        "cancelled_at": created + timedelta(days=1)
                        if state == "cancelled"
                        else None,
                        "checked_in_at": checked_in,
                    }
                )
        insert(conn, Registration.__table__, registration_rows)
        conn.execute(
            text(
                "UPDATE events e SET confirmed_count = (SELECT count(*) FROM registrations r "
                "WHERE r.event_id = e.id AND r.state = 'confirmed')"
            )
        )
        insert(
            conn,
            Conversation.__table__,
            [
                {
                    "origin": "contact",
                    "subject": f"Question {n}",
                    "state": ("new", "open", "waiting", "closed")[n % 4],
                    "name": "Visitor",
                    "email": "visitor@bench.local",
                    "locale": "da",
                    "unread_by_person": False,
                    "unread_by_staff": n % 4 < 2,
                    "created_at": now - timedelta(hours=n),
                    "last_message_at": now - timedelta(hours=n),
                }
                for n in range(400)
            ],
        )
        insert(
            conn,
            Job.__table__,
            [
                {
                    "kind": "app.core.mail:send_outbox_message",
                    "args": [n],
                    "queue": "default",
                    "state": ("failed", "dead", "done")[n % 3],
                    "attempts": 3,
                    "max_attempts": 10,
                    "run_at": now,
                    "created_at": now,
                }
                for n in range(3000)
            ],
        )
        db.session.add(
            Poll(
                title="Bench poll",
                description="",
                status="open",
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=3),
                electorate_size=members,
            )
        )
        for key in (
            "members-region",
            "members-municipality",
            "members-age-gender",
            "group-sizes",
            "registrations-before",
        ):
            db.session.add(PublicChart(chart_key=key))
        db.session.commit()
        with db.engine.connect() as analyze:
            analyze.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        past_event = db.session.scalar(
            text("SELECT id FROM events WHERE starts_at < now() ORDER BY starts_at DESC LIMIT 1")
        )
        return past_event


def login(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(
        f"{base}/auth/login",
        data={"csrf_token": token, "email": ADMIN[0], "password": ADMIN[1]},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise SystemExit(f"login failed: {response.status_code}")
    return session


def _cpu_of(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_seconds(master: int, engine) -> float:
    """CPU time so far of the gunicorn workers and of the PostgreSQL backends serving them.

    On a machine this busy the wall time mostly measures waiting for a core; the CPU time a
    request costs is what it would take on an idle one.
    """
    from sqlalchemy import text

    try:
        workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        workers = []
    with engine.connect() as conn:
        backends = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": DB_NAME},
        ).scalars()
        backends = list(backends)
    return _cpu_of(workers) + _cpu_of(backends)


def measure(session, base: str, event_id: int, count: int, master: int, engine) -> list[dict]:
    results = []
    for name, path, kind in pages(event_id):
        first_started = time.perf_counter()
        first = session.get(base + path, timeout=60)
        first_ms = (time.perf_counter() - first_started) * 1000
        if first.status_code != 200:
            raise SystemExit(f"{path} answered {first.status_code}")
        times = []
        cpu_before = cpu_seconds(master, engine)
        for _ in range(count):
            started = time.perf_counter()
            response = session.get(base + path, timeout=60)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        cpu_ms = (cpu_seconds(master, engine) - cpu_before) * 1000 / count
        results.append(
            {
                "cpu": cpu_ms,
                "name": name,
                "kind": kind,
                "first": first_ms,
                "p50": statistics.median(times),
                "p95": common.percentile(times, 0.95),
                "max": max(times),
            }
        )
    return results


def serve(env: dict, cache_seconds: int) -> tuple[str, object]:
    port = common.free_port()
    server_env = {
        **env,
        "BENCH_BIND": f"127.0.0.1:{port}",
        "BENCH_WORKERS": "2",
        "STATS_CACHE_SECONDS": str(cache_seconds),
    }
    proc = common.start(
        [str(common.VENV_BIN / "gunicorn"), "-c", "bench/gunicorn.conf.py", "wsgi:app"],
        server_env,
        common.RESULTS / f"insights-gunicorn-{cache_seconds}.log",
    )
    base = f"http://127.0.0.1:{port}"
    common.wait_for_http(f"{base}/health", 60)
    return base, proc


def table(title: str, rows: list[dict]) -> list[str]:
    lines = [
        title,
        f"{'page':<40} {'first':>8} {'p50':>8} {'p95':>8} {'max':>8} {'cpu/req':>8}  target",
    ]
    for r in rows:
        target = TARGETS_MS[r["kind"]]
        verdict = "ok" if r["p50"] < target else "OVER"
        lines.append(
            f"{r['name']:<40} {r['first']:>7.1f}  {r['p50']:>7.1f}  {r['p95']:>7.1f}  "
            f"{r['max']:>7.1f}  {r['cpu']:>7.1f}  <{target} ms p50: {verdict}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    redis_db = common.claim_redis_db()
    try:
        database_url = common.fresh_database(DB_NAME)
        env = common.app_env(database_url, redis_db)
        app = common.load_app(env)
        common.log(f"generating {args.members:,} members, {args.registrations:,} registrations")
        started = time.monotonic()
        event_id = generate(app, args.members, args.registrations)
        common.log(f"data ready in {time.monotonic() - started:.1f} s")
        lines = [
            f"insights benchmark {datetime.now():%Y-%m-%d %H:%M}: {args.members:,} members, "
            f"{args.registrations:,} registrations, {EVENTS} events; {args.requests} timed "
            "requests per page after one first request; gunicorn 2 sync workers",
            f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        ]
        engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
        for cache_seconds, title in ((0, "cache off"), (60, "cache on (60 s)")):
            base, proc = serve(env, cache_seconds)
            try:
                session = login(base)
                rows = measure(session, base, event_id, args.requests, proc.pid, engine)
            finally:
                common.stop(proc)
            lines += ["", *table(f"{title} (ms)", rows)]
        lines.append(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        text = "\n".join(lines)
        print(text)
        common.RESULTS.mkdir(parents=True, exist_ok=True)
        (common.RESULTS / "insights.txt").write_text(text + "\n")
        return 0
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)


if __name__ == "__main__":
    sys.exit(main())
