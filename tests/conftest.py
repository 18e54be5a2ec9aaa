"""Shared fixtures: one app for the whole run on real services, rolled back after each test.

PostgreSQL and Redis are used when they answer at their local defaults (REQUIRE_SERVICES=1 makes
their absence an error). E-mail goes over SMTP to aiosmtpd, files to a moto S3 server, jobs
through Redis to a real RQ worker (burst mode), pages through headless Chromium.
"""

from __future__ import annotations

import email
import os
import socket
import threading
from email.message import Message

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app, _cv_request
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm

from tests import helpers

PG_URL = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis(host=REDIS_HOST, socket_connect_timeout=2).ping())
    except Exception:
        return False


def _claim_redis_db() -> int:
    """A Redis database number no other running test session holds (they may run side by side)."""
    import redis

    conn = redis.Redis(host=REDIS_HOST)
    for number in range(1, 16):
        if conn.set(f"felag-test-db:{number}", os.getpid(), nx=True, ex=3 * 3600):
            return number
    pytest.exit("every Redis test database is taken", returncode=3)


class Mailbox:
    """Messages received by the loopback SMTP server.

    `hold_after(n)` makes the server stop answering MAIL FROM once it holds n messages, until
    `release()`: a fault test kills a worker at that point, before the next message's DATA.
    """

    def __init__(self):
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.released = threading.Event()

    def hold_after(self, count: int) -> None:
        self.hold_at = count
        self.holding.clear()
        self.released.clear()

    def release(self) -> None:
        self.hold_at = None
        self.released.set()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        import asyncio

        if self.hold_at is not None and len(self.messages) >= self.hold_at:
            self.holding.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()
        self.release()

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    """Start the loopback SMTP and S3 servers and pick the database and Redis."""
    from aiosmtpd.controller import Controller
    from moto.server import ThreadedMotoServer

    info = {"postgres": _postgres_available(), "redis": _redis_available()}
    if REQUIRE_SERVICES and not (info["postgres"] and info["redis"]):
        pytest.exit(f"REQUIRE_SERVICES=1 but a service is missing: {info}", returncode=3)

    if info["postgres"]:
        name = f"felag_test_{os.getpid()}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        info["database_url"] = PG_URL.rsplit("/", 1)[0] + "/" + name
        info["admin_engine"], info["database_name"] = admin, name
    else:
        info["database_url"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"

    if info["redis"]:
        info["redis_db"] = _claim_redis_db()
        info["redis_url"] = f"redis://{REDIS_HOST}:6379/{info['redis_db']}"

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    info["mailbox"], info["smtp_port"], info["smtp"] = mailbox, smtp.port, smtp

    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    info["s3_endpoint"] = f"http://127.0.0.1:{s3_port}"
    info["live_port"] = free_port()
    info["tmp"] = tmp_path_factory.mktemp("felag")
    yield info
    info["smtp"].stop()
    s3.stop()
    if info.get("redis_db"):
        import redis

        redis.Redis(host=REDIS_HOST).delete(f"felag-test-db:{info['redis_db']}")
    if info["postgres"]:
        info.pop("admin_engine").dispose()


@pytest.fixture(scope="session")
def app(services):
    """The application, shared by every test."""
    import boto3

    from app import create_app
    from app.extensions import db
    from config import TestingConfig

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client(
        "s3",
        endpoint_url=services["s3_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="felag-test")
    overrides = {
        "SQLALCHEMY_DATABASE_URI": services["database_url"],
        "BASE_URL": f"http://127.0.0.1:{services['live_port']}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": services["smtp_port"],
        "MAIL_USE_TLS": False,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_OUTBOX_DIR": str(services["tmp"] / "outbox"),
        "S3_BUCKET": "felag-test",
        "S3_ENDPOINT_URL": services["s3_endpoint"],
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "STORAGE_DIR": str(services["tmp"] / "storage"),
    }
    if services.get("redis_url"):
        overrides["REDIS_URL"] = services["redis_url"]
        overrides["RQ_CONNECTION"] = services["redis_url"]
        overrides["RQ_ASYNC"] = True
        overrides["RATELIMIT_STORAGE_URI"] = services["redis_url"]
    else:
        # Without a Redis server the queues live in fakeredis (a development requirement).
        overrides["REDIS_URL"] = "redis://fakeredis"
        overrides["RQ_CONNECTION_CLASS"] = "fakeredis.FakeStrictRedis"
        overrides["RQ_CONNECTION"] = {}
        overrides["RQ_ASYNC"] = True
        overrides["RATELIMIT_STORAGE_URI"] = "memory://"
    app = create_app(TestingConfig, overrides)
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
    return app


class IsolatedClient(FlaskClient):
    """A test client in English whose requests get their own app context even inside a `ctx` test.

    Flask reuses an already pushed app context for a request, which would share `g` (the logged-in
    user, the CSRF token) and the database session between the test and every client. The test's
    own session is expired after each request so it reads what the request wrote.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_cookie("lang", "en")  # tests read English unless they choose a language

    def open(self, *args, **kwargs):
        from app.extensions import db

        outer = _cv_app.get(None)
        app_token, request_token = _cv_app.set(None), _cv_request.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_request.reset(request_token)
            _cv_app.reset(app_token)
            if outer is not None:
                db.session.expire_all()


def _truncate_all(app):
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture(autouse=True)
def _isolate(app, services, request):
    """Fresh Redis and mailbox per test; the database is rolled back (emptied for live tests)."""
    from app.extensions import db, rq

    services["mailbox"].clear()
    with app.app_context():
        rq.get_queue("default").connection.flushdb()
    live = "live_server" in request.fixturenames or request.node.get_closest_marker("live")
    if live:
        yield
        _truncate_all(app)
        return
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
    original = db.session
    db.session = orm.scoped_session(
        orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=_app_ctx_id,
    )
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.test_request_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mailbox(services) -> Mailbox:
    return services["mailbox"]


@pytest.fixture
def run_jobs(app):
    """Run every queued job with a real RQ worker in burst mode; returns how many ran."""
    return lambda queues=None, raise_failures=True: helpers.run_jobs(app, queues, raise_failures)


@pytest.fixture
def postgres(services):
    if not services["postgres"]:
        pytest.skip("PostgreSQL is not running; concurrency tests need it")
    return services


class LiveServer(str):
    """The app served over HTTP on loopback by a threaded server: its URL, which a test can
    stop (connections refused, as with no network) and start again on the same port."""

    def __new__(cls, app, port: int):
        server = super().__new__(cls, f"http://127.0.0.1:{port}")
        server.app, server.port, server._server = app, port, None
        return server

    def start(self) -> None:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def live_server(app, services):
    """The app served over HTTP on loopback by a threaded server; data is committed for real."""
    server = LiveServer(app, services["live_port"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(path):
        if REQUIRE_SERVICES:
            pytest.exit(f"Chromium is missing at {path}", returncode=3)
        pytest.skip("Chromium is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="da-DK")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server,
        locale="da-DK",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    yield page
    context.close()
