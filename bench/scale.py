"""Scale benchmark: queries per page of the member API, and the organiser's registrations page and
the staff member record with a million outbox rows and a million audit entries (EXPLAIN ANALYZE).

Run from the repository root (PostgreSQL on its local default):

    .venv/bin/python bench/scale.py                  # 1,000,000 outbox rows and audit entries
    .venv/bin/python bench/scale.py --rows 100000

Steps: (1) drop and create the database felag_bench_scale and build the schema with create_all;
(2) add 1,200 demo members, a staff user (organiser + membership), an API token, an event with
200 confirmed registrations and 20 messages to them; (3) add --rows outbox rows (a third of them
e-mails of 20,000 other event messages, the rest tickets; nine in ten sent) and --rows audit
entries (about 100,000 different objects, some about the member shown) with generate_series,
then VACUUM ANALYZE; (4) in-process with Flask's test client, count the SQL statements of
GET /api/v1/members?limit=10 and ?limit=1000, and of the two staff pages; (5) run EXPLAIN
(ANALYZE, BUFFERS) on each statement of those pages that reads outbox_messages or
audit_entries, with the parameters the page used, and print the plan's scan nodes and time;
(6) for comparison, the same with the old queries: the LIKE count per message on
outbox_messages.key, and the audit trail without the (object_type, object_id) index (dropped
inside a transaction that is rolled back). Results go to stdout and bench/results/scale.txt.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DB_NAME = "felag_bench_scale"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PASSWORD = "correct horse battery staple"


class Statements:
    """The statements (with parameters) the engine runs while the `with` block is open."""

    def __init__(self, engine):
        self.engine = engine
        self.seen: list[tuple[str, object]] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def explain(engine, statement: str, parameters) -> tuple[str, float, list[str]]:
    """EXPLAIN ANALYZE of one statement: its scan nodes, execution time (ms) and the plan."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None)
        plan = [row[0] for row in cursor.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    nodes = [
        re.sub(r"\s+\(cost=.*", "", line).strip(" ->")
        for line in plan
        if re.search(r"Scan|Seek", line)
    ]
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", "\n".join(plan)).group(1))
    return "; ".join(nodes), ms, plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))

    from app import create_app
    from config import DevelopmentConfig

    app = create_app(
        DevelopmentConfig,
        {
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "STORAGE_DIR": tempfile.mkdtemp(prefix="felag-bench-scale-"),
            "REDIS_URL": "",
            "S3_BUCKET": "",
            "MAIL_SERVER": "",
            "API_TOKEN_CACHE_SECONDS": 60,
        },
    )
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with app.app_context():
        from app.api.services import create_token
        from app.auth.services import create_user
        from app.core.timeutil import utcnow
        from app.events.models import Event, EventMessage, Registration
        from app.events.tickets import make_code, new_key_pair
        from app.extensions import db
        from app.members.demo import generate
        from app.members.models import Membership

        db.create_all()
        started = time.perf_counter()
        generate(1200, seed=4)
        staff = create_user(
            "bench-staff@example.org",
            "Bench Staff",
            PASSWORD,
            ["organiser", "membership"],
            True,
            "en",
            check_password=False,
        )
        _token, key = create_token(staff, "bench")
        now = utcnow()
        private, public = new_key_pair()
        event = Event(
            signing_key_encrypted=private,
            public_key=public,
            published_at=now,
            title="Annual meeting",
            slug="annual-meeting",
            starts_at=now + timedelta(days=10),
            ends_at=now + timedelta(days=10, hours=3),
            status="published",
            capacity=500,
        )
        db.session.add(event)
        db.session.flush()
        people = db.session.scalars(sa.select(Membership).limit(200)).all()
        for m in people:
            db.session.add(
                Registration(
                    event_id=event.id,
                    user_id=m.user_id,
                    name=m.full_name,
                    email=m.user.email,
                    state="confirmed",
                    confirmed_at=now,
                    ticket_code=make_code(event.id, private),
                )
            )
        event.confirmed_count = len(people)
        messages = []
        for n in range(20):
            message = EventMessage(
                event_id=event.id, subject=f"Message {n}", body="Hello", recipient_count=200
            )
            db.session.add(message)
            messages.append(message)
        db.session.commit()
        member = people[0]
        member_id, member_user_id, event_id = member.id, member.user_id, event.id
        message_ids = [m.id for m in messages]
        say(
            f"setup: 1,200 members, an event with 200 registrations and 20 messages "
            f"({time.perf_counter() - started:.1f} s)"
        )

        started = time.perf_counter()
        with db.engine.begin() as conn:
            # Outbox: a third e-mails of 20,000 other event messages, the rest tickets; the 20
            # messages of our event get 200 rows each (of which 150 sent).
            conn.execute(
                sa.text(
                    "INSERT INTO outbox_messages (key, batch_key, to_address, user_id, locale, "
                    "template, context, attachments, headers, state, attempts, created_at, "
                    "sent_at) SELECT CASE WHEN g % 3 = 0 THEN 'event-message:' || "
                    "(100000 + g % 20000) || ':' || g ELSE 'ticket:' || g END, CASE WHEN "
                    "g % 3 = 0 THEN 'event-message:' || (100000 + g % 20000) END, "
                    "'person' || g || '@example.org', NULL, 'da', 'ticket', '{}', '[]', '{}', "
                    "CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'sent' END, 1, "
                    "now() - (g || ' seconds')::interval, now() FROM generate_series(1, :n) g"
                ),
                {"n": args.rows},
            )
            for message_id in message_ids:
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox_messages (key, batch_key, to_address, locale, "
                        "template, context, attachments, headers, state, attempts, created_at) "
                        "SELECT 'event-message:' || :m || ':' || g, 'event-message:' || :m, "
                        "'p' || g || '@example.org', 'da', 'event_message', '{}', '[]', '{}', "
                        "CASE WHEN g <= 150 THEN 'sent' ELSE 'queued' END, 1, now() "
                        "FROM generate_series(1, 200) g"
                    ),
                    {"m": message_id},
                )
            # Audit: about 100,000 different objects over a year; 40 entries about our member.
            conn.execute(
                sa.text(
                    "INSERT INTO audit_entries (at, actor_id, action, object_type, object_id, "
                    "subject_user_id, before, after) SELECT now() - ((g % 31536000) || "
                    "' seconds')::interval, NULL, 'member.updated', CASE WHEN g % 4 = 0 THEN "
                    "'event' ELSE 'membership' END, 10000 + g % 100000, NULL, NULL, "
                    '\'{"phone": "+354 555 0000"}\' FROM generate_series(1, :n) g'
                ),
                {"n": args.rows},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit_entries (at, actor_id, action, object_type, object_id, "
                    "subject_user_id, before, after) SELECT now() - (g || ' days')::interval, "
                    ":actor, 'member.updated', 'membership', :member, CASE WHEN g % 2 = 0 THEN "
                    ":user END, NULL, NULL FROM generate_series(1, 40) g"
                ),
                {"actor": staff.id, "member": member_id, "user": member_user_id},
            )
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        counts = {}
        with db.engine.connect() as conn:
            for table in ("outbox_messages", "audit_entries"):
                counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        say(
            f"bulk rows: {counts['outbox_messages']:,} outbox rows, "
            f"{counts['audit_entries']:,} audit entries ({time.perf_counter() - started:.1f} s)"
        )
        engine = db.engine

    client = app.test_client()
    headers = {"Authorization": f"Token {key}"}
    say()
    say("Member API, statements per request (token cached, as after the first request):")
    client.get("/api/v1/members?limit=1", headers=headers)
    for limit in (10, 100, 1000):
        with Statements(engine) as seen:
            response = client.get(f"/api/v1/members?limit={limit}", headers=headers)
        assert response.status_code == 200 and len(response.get_json()["results"]) == limit
        kinds = [s.split()[0] for s, _p in seen.seen]
        say(
            f"  GET /api/v1/members?limit={limit}: {len(seen.seen)} statements ({', '.join(kinds)})"
        )

    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    login = client.post(
        "/auth/login",
        data={"csrf_token": token, "email": "bench-staff@example.org", "password": PASSWORD},
    )
    assert login.status_code == 302, login.status_code
    pages = {
        "registrations page": f"/staff/events/{event_id}/",
        "member record": f"/staff/members/{member_id}",
    }
    for name, url in pages.items():
        client.get(url)
        with Statements(engine) as seen:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        say()
        say(f"{name} ({url}): {len(seen.seen)} statements, {elapsed:.0f} ms in-process")
        for statement, parameters in seen.seen:
            if not re.search(r"FROM (outbox_messages|audit_entries)", statement):
                continue
            nodes, ms, _plan = explain(engine, statement, parameters)
            table = re.search(r"FROM (outbox_messages|audit_entries)", statement).group(1)
            say(f"  {table}: {ms:.2f} ms; {nodes}")

    say()
    say("Before (for comparison):")
    like = (
        "SELECT count(outbox_messages.id) FROM outbox_messages WHERE outbox_messages.key "
        "LIKE %(key)s AND outbox_messages.state = 'sent'"
    )
    total_ms = 0.0
    for message_id in message_ids:
        nodes, ms, _plan = explain(engine, like, {"key": f"event-message:{message_id}:%"})
        total_ms += ms
    say(f"  registrations page, old LIKE count: 20 queries, {total_ms:.0f} ms together; {nodes}")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("DROP INDEX ix_audit_entries_object")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT audit_entries.id FROM audit_entries WHERE "
            "audit_entries.subject_user_id = %(user)s OR (audit_entries.object_type = "
            "'membership' AND audit_entries.object_id = %(member)s) ORDER BY audit_entries.at "
            "DESC, audit_entries.id DESC LIMIT 200",
            {"user": member_user_id, "member": member_id},
        )
        plan = [row[0] for row in cursor.fetchall()]
    finally:
        raw.rollback()
        raw.close()
    nodes = "; ".join(
        re.sub(r"\s+\(cost=.*", "", line).strip(" ->") for line in plan if "Scan" in line
    )
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", "\n".join(plan)).group(1))
    say(f"  member record, audit trail without the object index: {ms:.1f} ms; {nodes}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    (RESULTS / "scale.txt").write_text(f"{stamp}\n" + "\n".join(lines) + "\n")
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
