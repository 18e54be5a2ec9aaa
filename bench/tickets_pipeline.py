"""Ticket pipeline: 1,000 tickets made and mailed to a local SMTP server by one worker, then two.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/tickets_pipeline.py                  # 1,000 tickets; 1 then 2 workers
    .venv/bin/python bench/tickets_pipeline.py --tickets 500 --rq-tickets 20

What is measured, per run, from the moment the jobs are handed over until the SMTP server has
received the last e-mail: 1,000 confirmed registrations each get the `make_ticket` job row that a
registration writes, handed to RQ after the commit as the web process does (`jobs.commit()`); the
job makes the QR PNG into the private storage area and the .ics, writes the outbox row and sends
the e-mail (rendered in the recipient's language, attachments read back from storage, SMTP).
Workers are started and idle before the clock starts. Beside the rate, the user+system CPU time
of the worker processes comes from /proc (less disturbed by a busy machine than the rate), and
the CPU this script spends writing and handing over the job rows (the web side of a ticket).
Runs: `flask jobs worker` (in-process, bench/README explains) with 1 and 2 processes, and
optionally `flask rq worker` (Flask-RQ: a new Python process per job) on a smaller batch.

The floors, in their own processes, in the same run: a bare loop that only makes QR PNGs of the
same URL with the same settings and sends the same e-mails (text, HTML, inline QR, .ics) over
one smtplib connection; once with qrcode's mask search (its default) and once with the fixed
mask the app uses. Figures go to stdout and bench/results/tickets_pipeline.txt; the load average
is printed with them. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

import events_common as common

DEADLINE = 900


class Counter:
    """An aiosmtpd handler that counts the messages it receives."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.last = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 OK"


def make_registrations(app, event_id: int, user_ids: list[int]) -> list[int]:
    from sqlalchemy import update

    from app.auth.models import User
    from app.core.timeutil import utcnow
    from app.events.models import Event, Registration
    from app.events.tickets import make_code
    from app.extensions import db

    with app.app_context():
        event = db.session.get(Event, event_id)
        users = db.session.scalars(db.select(User).where(User.id.in_(user_ids))).all()
        rows = [
            Registration(
                event_id=event_id,
                user_id=u.id,
                name=u.name,
                email=u.email,
                state="confirmed",
                confirmed_at=utcnow(),
                ticket_code=make_code(event_id, event.signing_key_encrypted),
            )
            for u in users
        ]
        db.session.add_all(rows)
        db.session.execute(
            update(Event).where(Event.id == event_id).values(confirmed_count=len(rows))
        )
        db.session.commit()
        return [r.id for r in rows]


def enqueue_tickets(app, registration_ids: list[int]) -> float:
    """Write the ticket job rows and hand them to RQ as a registration does; returns CPU s."""
    from app.core.jobs import commit, enqueue_after_commit
    from app.events.tasks import make_ticket

    began = time.process_time()
    with app.app_context():
        for start in range(0, len(registration_ids), 100):
            for rid in registration_ids[start : start + 100]:
                enqueue_after_commit(make_ticket, rid, False, queue="tickets")
            commit()  # the rows, then the hand-over to RQ, as after a registration's commit
    return time.process_time() - began


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for_workers(app, count: int, seconds: float = 60) -> None:
    from rq import Worker

    from app.extensions import rq

    deadline = time.monotonic() + seconds
    with app.app_context():
        connection = rq.get_queue("tickets").connection
        while time.monotonic() < deadline:
            if len(Worker.all(connection=connection)) >= count:
                return
            time.sleep(0.2)
    raise SystemExit("the workers did not start")


def check(app, event_id: int) -> dict:
    from sqlalchemy import func, select

    from app.core.mail import OutboxMessage
    from app.events.models import Registration
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        made = db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event_id, Registration.ticket_qr_key.is_not(None)
            )
        )
        sent = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.state == "sent")
        )
        return {"qr_made": made, "outbox_sent_total": sent}


def run_pipeline(app, env, counter, user_ids, tickets: int, workers: int, command: str) -> dict:
    """Enqueue `tickets` ticket jobs, let `workers` processes run them, time the e-mails."""
    event_id = common.make_event(app, None, title=f"Pipeline {command} x{workers}")
    registration_ids = make_registrations(app, event_id, user_ids[:tickets])
    if command == "jobs":
        cmd = [str(common.VENV_BIN / "flask"), "jobs", "worker"]
    else:
        cmd = [str(common.VENV_BIN / "flask"), "rq", "worker"]
    procs = [
        common.start(
            [*cmd, "--name", f"bench-{command}-{n}-{secrets.token_hex(3)}"],
            env,
            common.RESULTS / f"worker-{command}-{workers}-{n}.log",
        )
        for n in range(workers)
    ]
    wait_for_workers(app, workers)
    time.sleep(2)  # the workers' start-up (imports, first relay tick) is not counted
    pids = [proc.pid for proc in procs]
    cpu_before = cpu_seconds(pids)
    before = counter.count
    began = time.perf_counter()
    web_cpu = enqueue_tickets(app, registration_ids)
    deadline = began + DEADLINE
    while counter.count - before < tickets and time.perf_counter() < deadline:
        time.sleep(0.05)
    received = counter.count - before
    elapsed = (counter.last if received else time.perf_counter()) - began
    worker_cpu = cpu_seconds(pids) - cpu_before
    rss = [rss_mb(pid) for pid in pids]
    for proc in procs:
        common.stop(proc)
    result = {
        "worker_cpu_ms": worker_cpu * 1000 / max(received, 1),
        "web_cpu_ms": web_cpu * 1000 / tickets,
        "rss": rss,
        "run": f"flask {command} worker x{workers}",
        "tickets": tickets,
        "received": received,
        "seconds": elapsed,
        "per_s": received / elapsed if elapsed else 0.0,
        **check(app, event_id),
    }
    common.log(
        "{run}: {received}/{tickets} e-mails in {seconds:.1f} s = {per_s:.1f} tickets/s, worker"
        " CPU {worker_cpu_ms:.1f} ms/ticket, hand-over {web_cpu_ms:.2f} ms/ticket".format(**result)
    )
    return result


def bare_loop(count: int, smtp_port: int, mask: int | None) -> None:
    """The floor: QR PNGs and the same e-mails over one smtplib connection (own process)."""
    import base64
    import io
    import smtplib
    from datetime import timedelta
    from email.message import EmailMessage

    import qrcode
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    starts = datetime.now(UTC) + timedelta(days=14)
    html_body = "<p>Hello,</p><p>You are registered.</p>" + "<p>details</p>" * 20
    began = time.perf_counter()
    cpu = time.process_time()
    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        for n in range(count):
            code = f"{n}.{b64(secrets.token_bytes(16))}.{b64(secrets.token_bytes(64))}"
            qr = qrcode.QRCode(
                error_correction=qrcode.constants.ERROR_CORRECT_M,
                box_size=8,
                border=4,
                mask_pattern=mask,
            )
            qr.add_data(f"http://127.0.0.1:5000/t/{code}")
            qr.make(fit=True)
            out = io.BytesIO()
            qr.make_image().save(out, format="PNG")
            calendar = Calendar()
            item = CalendarEvent()
            item.add("uid", "event-1@bench")
            item.add("dtstart", starts)
            item.add("dtend", starts + timedelta(hours=3))
            item.add("summary", "Bench event")
            calendar.add_component(item)
            message = EmailMessage()
            message["Subject"] = "Your ticket: Bench event"
            message["From"] = "Félag <noreply@felag.local>"
            message["To"] = f"member{n:05d}@bench.local"
            message.set_content(f"Hello,\n\nYou are registered.\nhttp://127.0.0.1:5000/t/{code}")
            message.add_alternative(html_body + '<img src="cid:qr">', subtype="html")
            message.get_payload()[1].add_related(
                out.getvalue(), "image", "png", cid="<qr>", filename="ticket-qr.png"
            )
            message.add_attachment(
                calendar.to_ical(), maintype="text", subtype="calendar", filename="event.ics"
            )
            smtp.send_message(message)
    elapsed = time.perf_counter() - began
    print(f"BARE {count} {elapsed:.3f} {time.process_time() - cpu:.3f}", flush=True)


def run_bare(count: int, smtp_port: int, mask: int | None) -> dict:
    cmd = [sys.executable, __file__, "--bare", str(count), "--smtp-port", str(smtp_port)]
    if mask is not None:
        cmd += ["--bare-mask", str(mask)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE, check=True).stdout
    count_text, seconds, cpu = out.split("BARE ", 1)[1].split()
    result = {
        "run": "bare loop, qrcode mask search" if mask is None else "bare loop, fixed mask",
        "tickets": int(count_text),
        "received": int(count_text),
        "seconds": float(seconds),
        "per_s": int(count_text) / float(seconds),
        "worker_cpu_ms": float(cpu) * 1000 / int(count_text),
        "web_cpu_ms": 0.0,
        "rss": [],
    }
    common.log("{run}: {per_s:.1f} tickets/s, CPU {worker_cpu_ms:.1f} ms/ticket".format(**result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument(
        "--rq-tickets",
        type=int,
        default=0,
        help="tickets for a `flask rq worker` run (0, the default, skips it)",
    )
    parser.add_argument("--bare", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bare-mask", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_loop(args.bare, args.smtp_port, args.bare_mask)
        return

    from aiosmtpd.controller import Controller

    counter = Counter()
    smtp = Controller(counter, hostname="127.0.0.1", port=common.free_port())
    smtp.start()
    redis_db = common.claim_redis_db()
    storage = tempfile.mkdtemp(prefix="felag-bench-storage-")
    results = []
    load_before = os.getloadavg()
    try:
        database_url = common.fresh_database("felag_bench_tickets")
        env = common.app_env(
            database_url,
            redis_db,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(smtp.port),
            MAIL_USE_TLS="0",
            STORAGE_DIR=storage,
        )
        common.log(f"database felag_bench_tickets, Redis db {redis_db}, SMTP {smtp.port}")
        app = common.load_app(env)
        import logging

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        user_ids = common.make_members(app, max(args.tickets, args.rq_tickets))
        from app.events.tickets import QR_MASK_PATTERN

        common.log(f"load average {os.getloadavg()[0]:.2f}")
        # Floors and the app interleaved: bare (search), 1 worker, bare (fixed), 2 workers.
        results.append(run_bare(args.tickets, smtp.port, None))
        results.append(run_pipeline(app, env, counter, user_ids, args.tickets, 1, "jobs"))
        results.append(run_bare(args.tickets, smtp.port, QR_MASK_PATTERN))
        results.append(run_pipeline(app, env, counter, user_ids, args.tickets, 2, "jobs"))
        if args.rq_tickets:
            results.append(run_pipeline(app, env, counter, user_ids, args.rq_tickets, 1, "rq"))
    finally:
        common.stop_all()
        smtp.stop()
        common.release_redis_db(redis_db)
        import shutil

        shutil.rmtree(storage, ignore_errors=True)
    load_after = os.getloadavg()

    floor = results[2]  # the bare loop with the app's QR settings
    lines = [
        f"# Ticket pipeline — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "Tickets made (QR PNG, .ics, outbox) and mailed to a local aiosmtpd server; PostgreSQL,",
        "Redis, local-disk storage; 2-core machine shared with the SMTP server and this script.",
        f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| run | tickets | e-mails received | seconds | tickets/s | vs bare (fixed mask) "
        "| worker CPU ms/ticket | + hand-over CPU ms | worker RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rss = " / ".join(f"{v:.1f}" for v in r["rss"]) or "-"
        lines.append(
            f"| {r['run']} | {r['tickets']} | {r['received']} | {r['seconds']:.1f} | "
            f"{r['per_s']:.1f} | {r['per_s'] / floor['per_s']:.2f} | {r['worker_cpu_ms']:.1f} | "
            f"{r['web_cpu_ms']:.2f} | {rss} |"
        )
    one, two = results[1], results[3]
    ok = all(r["received"] == r["tickets"] for r in results)
    lines += [
        "",
        f"One worker: {one['worker_cpu_ms'] + one['web_cpu_ms']:.1f} ms CPU per ticket (worker +"
        f" hand-over; target <= 15), {one['per_s'] / floor['per_s']:.0%} of the bare loop's rate"
        f" (target >= 60%); by CPU the bare loop costs"
        f" {floor['worker_cpu_ms'] / one['worker_cpu_ms']:.0%} of the worker's.",
        f"Two workers: {two['received']} tickets mailed in {two['seconds']:.1f} s (target: 1,000"
        " within 60 s). " + ("every e-mail arrived" if ok else "E-MAILS MISSING"),
    ]
    text = "\n".join(lines) + "\n"
    (common.RESULTS / "tickets_pipeline.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
