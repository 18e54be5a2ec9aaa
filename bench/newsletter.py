"""Newsletter send: 10,000 recipients through the outbox to a local SMTP sink with two workers.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/newsletter.py                       # 10,000 recipients, 2 workers
    .venv/bin/python bench/newsletter.py --recipients 2000 --workers 1

What is measured: from the editor's "send" (the service call and the commit that hands the first
batch job to RQ) until the aiosmtpd sink has received the last e-mail. Two `flask jobs worker`
processes are started and idle before the clock starts. The pipeline is the production one:
`send_newsletter_batch` writes 200 outbox rows (one per recipient, in their language, keyed per
newsletter and recipient) and asks for the next batch job and for one `send_outbox_batch` job that
sends those 200 over one SMTP connection, claiming each row before it is sent.
Figures go to stdout and bench/results/newsletter.txt. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from datetime import UTC, datetime

import events_common as common

DEADLINE = 900
TARGET_SECONDS = 300


class Counter:
    """An aiosmtpd handler that counts the messages and the connections it receives."""

    def __init__(self):
        self.count = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.last = 0.0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 OK"


def make_readers(app, count: int) -> None:
    """Verified users who gave the newsletter consent (rows written in bulk)."""
    from sqlalchemy import insert

    from app.core.timeutil import utcnow
    from app.extensions import db
    from app.members.models import Consent

    user_ids = common.make_members(app, count, prefix="reader")
    with app.app_context():
        now = utcnow()
        rows = [
            {"user_id": uid, "kind": "newsletter", "given": True, "changed_at": now}
            for uid in user_ids
        ]
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(Consent), rows[start : start + 2000])
        db.session.commit()


def write_newsletter(app) -> int:
    from app.extensions import db
    from app.news import newsletters

    body = "\n\n".join(
        f"## Section {n}\n\nThe board met on Tuesday. **Read** the [minutes](https://example.org/{n})"
        " and come to the general meeting; bring a friend."
        for n in range(6)
    )
    with app.app_context():
        newsletter = newsletters.save_newsletter(
            None,
            language="da",
            texts={
                "da": ("Nyhedsbrev", body),
                "en": ("Newsletter", body),
                "is": ("Fréttabréf", body),
            },
            audience="newsletter",
        )
        db.session.commit()
        return newsletter.id


def wait_for_workers(app, count: int, seconds: float = 60) -> None:
    from rq import Worker

    from app.extensions import rq

    deadline = time.monotonic() + seconds
    with app.app_context():
        connection = rq.get_queue("mail").connection
        while time.monotonic() < deadline:
            if len(Worker.all(connection=connection)) >= count:
                return
            time.sleep(0.2)
    raise SystemExit("the workers did not start")


def outbox_counts(app, newsletter_id: int) -> dict:
    from app.extensions import db
    from app.news import newsletters
    from app.news.newsletter_models import Newsletter

    with app.app_context():
        db.session.remove()
        return newsletters.progress(db.session.get(Newsletter, newsletter_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    counter = Counter()
    smtp = Controller(counter, hostname="127.0.0.1", port=common.free_port())
    smtp.start()
    redis_db = common.claim_redis_db()
    storage = tempfile.mkdtemp(prefix="felag-bench-storage-")
    try:
        database_url = common.fresh_database("felag_bench_newsletter")
        env = common.app_env(
            database_url,
            redis_db,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(smtp.port),
            MAIL_USE_TLS="0",
            STORAGE_DIR=storage,
        )
        common.log(f"database felag_bench_newsletter, Redis db {redis_db}, SMTP {smtp.port}")
        app = common.load_app(env)
        import logging

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        make_readers(app, args.recipients)
        newsletter_id = write_newsletter(app)
        common.log(f"{args.recipients} readers and the newsletter are written")
        procs = [
            common.start(
                [
                    str(common.VENV_BIN / "flask"),
                    "jobs",
                    "worker",
                    "--name",
                    f"bench-newsletter-{n}-{secrets.token_hex(3)}",
                ],
                env,
                common.RESULTS / f"worker-newsletter-{n}.log",
            )
            for n in range(args.workers)
        ]
        wait_for_workers(app, args.workers)
        with open("/proc/loadavg") as handle:
            load_before = handle.read().split()[0]

        from app.core.jobs import commit
        from app.extensions import db
        from app.news import newsletters
        from app.news.newsletter_models import Newsletter

        began = time.perf_counter()
        with app.app_context():
            newsletters.start_sending(db.session.get(Newsletter, newsletter_id), None)
            commit()
        deadline = began + DEADLINE
        last_log = began
        while counter.count < args.recipients and time.perf_counter() < deadline:
            time.sleep(0.1)
            if time.perf_counter() - last_log > 15:
                last_log = time.perf_counter()
                common.log(f"{counter.count} received")
        received = counter.count
        elapsed = (counter.last if received else time.perf_counter()) - began
        with open("/proc/loadavg") as handle:
            load_after = handle.read().split()[0]
        for proc in procs:
            common.stop(proc)
        counts = outbox_counts(app, newsletter_id)
    finally:
        common.stop_all()
        smtp.stop()
        common.release_redis_db(redis_db)
        import shutil

        shutil.rmtree(storage, ignore_errors=True)

    rate = received / elapsed if elapsed else 0.0
    ok = received == args.recipients and elapsed <= TARGET_SECONDS
    lines = [
        f"# Newsletter send — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "One newsletter (da/en/is, ~1 KB of Markdown) to readers who gave the newsletter consent;",
        "`flask jobs worker` processes, PostgreSQL, Redis, aiosmtpd sink on loopback; 2-core",
        f"machine shared with other work (load average {load_before} before, {load_after} after).",
        "",
        "| recipients | workers | e-mails received | SMTP connections | seconds | e-mails/s |",
        "|---|---|---|---|---|---|",
        f"| {args.recipients} | {args.workers} | {received} | {counter.connections} | "
        f"{elapsed:.1f} | {rate:.1f} |",
        "",
        f"Outbox after the run: sent {counts['sent']}, failed {counts['failed']}, "
        f"queued {counts['queued']}.",
        f"Target: {args.recipients} e-mails within {TARGET_SECONDS} s. "
        + ("PASS" if ok else "FAIL"),
    ]
    text = "\n".join(lines) + "\n"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "newsletter.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
