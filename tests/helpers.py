"""Small helpers for tests: CSRF-aware form posts, login, jobs, links in e-mails."""

from __future__ import annotations

import io
import os
import re
import tempfile
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import zxingcpp
from PIL import Image

# The browser tests' screenshots, to look at after a run. `make screenshots` writes them to
# docs/screenshots (the README's pictures); a plain test run leaves the work tree alone.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "felag-screenshots"
)
PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# A page whose only action is a script's (a passkey button) carries the token on the button.
SCRIPT_CSRF_RE = re.compile(r'data-csrf="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html) or SCRIPT_CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_form(client, url: str, data: dict, page_url: str | None = None, **kwargs):
    """GET the page holding the form, then POST the form with its CSRF token."""
    page = client.get(page_url or url)
    token = csrf_from(page.get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def login(client, email: str, password: str = PASSWORD, **kwargs):
    return post_form(client, "/auth/login", {"email": email, "password": password}, **kwargs)


def run_jobs(app, queues=None, raise_failures: bool = True) -> int:
    """Run queued jobs with a real RQ worker (burst) inside the app context; returns how many ran.

    A job whose function raised is recorded as failed (or dead) on its row; with
    `raise_failures` that is an assertion error carrying the job's error.
    """
    from rq import SimpleWorker
    from sqlalchemy import select

    from app.core.jobs import Job
    from app.extensions import db, rq

    with app.app_context():
        names = queues or list(rq.queues)
        qs = [rq.get_queue(name) for name in names]
        worker = SimpleWorker(qs, connection=qs[0].connection, job_class=qs[0].job_class)
        ran = 0
        while any(q.count for q in qs):
            before = sum(q.count for q in qs)
            worker.work(burst=True)
            ran += before
        failed = [job_id for q in qs for job_id in q.failed_job_registry.get_job_ids()]
        if failed and raise_failures:
            job = qs[0].job_class.fetch(failed[0], connection=qs[0].connection)
            raise AssertionError(f"job failed: {job.latest_result().exc_string}")
        if raise_failures:
            errors = db.session.scalars(
                select(Job.last_error).where(Job.state.in_(("failed", "dead")))
            ).all()
            db.session.remove()
            if errors:
                raise AssertionError(f"job failed: {errors[0]}")
        return ran


def body_text(message: Message) -> str:
    """The plain-text part of an e-mail."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


def html_part(message: Message) -> str:
    """The HTML part of an e-mail."""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    return ""


def subject(message: Message) -> str:
    """An e-mail's subject, decoded."""
    return str(make_header(decode_header(message["Subject"])))


def first_link(message: Message) -> str:
    match = re.search(r"https?://\S+", body_text(message))
    assert match, "no link in the e-mail"
    return match.group(0)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a PNG.

    Only QR codes are looked for: with every format on, zxing-cpp now and then also reads a
    few modules of a QR code as a short ITF barcode (about 1 code in 750).
    """
    [barcode] = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    return barcode.text


class RedisRoundTrips:
    """Records every Redis round trip made in this process while the `with` block is open: one
    entry per packet sent (a pipeline's commands share one), as the list of its command names."""

    def __init__(self):
        self.trips: list[list[str]] = []

    def __enter__(self):
        import redis.connection

        self._class = redis.connection.AbstractConnection
        original = self._original = self._class.send_packed_command
        trips = self.trips

        def send(conn, command, check_health=True):
            trips.append(_redis_command_names(command))
            return original(conn, command, check_health)

        self._class.send_packed_command = send
        return self

    def __exit__(self, *exc):
        self._class.send_packed_command = self._original

    @property
    def commands(self) -> list[str]:
        """The command names, one string per round trip ("GET", or "GET+EVALSHA" for a pipeline)."""
        return ["+".join(names) for names in self.trips]


def _redis_command_names(packed) -> list[str]:
    """The command names in what redis-py sends (RESP arrays of bulk strings)."""
    raw = b"".join(bytes(part) for part in ([packed] if isinstance(packed, bytes) else packed))
    names, pos = [], 0
    while raw.startswith(b"*", pos):
        end = raw.index(b"\r\n", pos)
        count, pos = int(raw[pos + 1 : end]), end + 2
        for n in range(count):
            end = raw.index(b"\r\n", pos)
            length, start = int(raw[pos + 1 : end]), end + 2
            if n == 0:
                names.append(raw[start : start + length].decode(errors="replace").upper())
            pos = start + length + 2
    return names


class StatementCounter:
    """Counts the SQL statements the app's engine runs while the `with` block is open."""

    def __init__(self, app):
        from app.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)

    # Not the page's queries, and timed rather than data-driven: the sign-in session's last-seen
    # write (at most once a minute, in a commit of its own) and the branding row, re-read when its
    # 30-second cache runs out (a slow test can cross either between its two requests).
    BOOKKEEPING = re.compile(
        r"^\s*(UPDATE sign_in_sessions\b|SAVEPOINT|RELEASE SAVEPOINT)|FROM mail_layout_settings\b"
    )

    @property
    def count(self) -> int:
        """The page's own statements (the session's bookkeeping left out)."""
        return sum(1 for s in self.statements if not self.BOOKKEEPING.search(s))


def statements_of(app, client, url: str) -> int:
    """The statements a page of its own reads (asked twice: the first visit may make the
    session's once-a-minute write), after checking that it answers 200."""
    client.get(url)
    with StatementCounter(app) as counter:
        assert client.get(url).status_code == 200, url
    return counter.count


def sqlite_dev_app(tmp_path: Path, **config):
    """The development app on its embedded defaults (SQLite, no Redis, in-process jobs, e-mail
    to files), in tmp_path, with its tables made: for what must work on a fresh clone too."""
    from app import create_app
    from app.extensions import db
    from config import DevelopmentConfig

    dev = create_app(
        DevelopmentConfig,
        {
            "REDIS_URL": "",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.db'}",
            "STORAGE_DIR": str(tmp_path / "storage"),
            "MAIL_SERVER": "",
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            **config,
        },
    )
    with dev.app_context():
        db.create_all()
    return dev
