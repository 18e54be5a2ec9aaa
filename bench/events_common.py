"""Shared pieces of the events benchmarks: a fresh database, a Redis db, the app, processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "bench-events-secret-key-that-is-long-enough-0123456789abcdef"

processes: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# bench/foundation.py uses (and flushes) db 14 without claiming it, so it is never taken here.
UNCLAIMED = {14}


def claim_redis_db() -> int:
    """A Redis database number no test session or other bench holds (same scheme as tests)."""
    import redis

    stop_on_sigterm()
    conn = redis.Redis(host="127.0.0.1")
    for number in (n for n in range(15, 0, -1) if n not in UNCLAIMED):
        if conn.set(f"felag-test-db:{number}", f"bench-{os.getpid()}", nx=True, ex=3600):
            redis.Redis(host="127.0.0.1", db=number).flushdb()
            return number
    raise SystemExit("every Redis database is taken")


def stop_on_sigterm() -> None:
    """SIGTERM (e.g. from `timeout`) raises SystemExit, so the finally blocks stop the servers."""

    def handler(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def release_redis_db(number: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", db=number).flushdb()
    redis.Redis(host="127.0.0.1").delete(f"felag-test-db:{number}")


def fresh_database(name: str) -> str:
    """Drop and create the database; returns its DATABASE_URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def app_env(database_url: str, redis_db: int, **extra: str) -> dict[str, str]:
    """The environment the app (server, workers, this script) runs with."""
    env = dict(os.environ)
    for key in ("S3_BUCKET", "MAIL_SERVER", "FELAG_ENV"):
        env.pop(key, None)
    env.update(
        FLASK_APP="wsgi",
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        SECRET_KEY=SECRET_KEY,
        BASE_URL="http://127.0.0.1:5000",
        **extra,
    )
    return env


def load_app(env: dict[str, str]):
    """The Félag app in this process, configured like the servers (env set before import)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        db.create_all()
    return app


def make_members(app, count: int, prefix: str = "member") -> list[int]:
    """Verified users sharing one argon2 hash (hashing 1,000 passwords would take minutes)."""
    from app.auth.models import User
    from app.auth.passwords import hash_password
    from app.core.timeutil import utcnow
    from app.extensions import db

    shared = hash_password("bench-password-not-used")
    with app.app_context():
        people = [
            User(
                email=f"{prefix}{n:05d}@bench.local",
                name=f"Bench Person {n}",
                password_hash=shared,
                locale=("da", "en", "is")[n % 3],
                email_verified_at=utcnow(),
            )
            for n in range(count)
        ]
        db.session.add_all(people)
        db.session.commit()
        return [p.id for p in people]


def make_event(app, capacity: int | None, title: str = "Bench event") -> int:
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.events.models import Event
    from app.events.tickets import new_key_pair
    from app.extensions import db

    with app.app_context():
        private, public = new_key_pair()
        starts = utcnow() + timedelta(days=14)
        event = Event(
            title=title,
            slug="bench-event",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            venue_name="Folkets Hus",
            street="Stengade 50",
            postal_code="2200",
            city="København",
            capacity=capacity,
            confirmed_count=0,
            status="published",
            published_at=utcnow(),
            signing_key_encrypted=private,
            public_key=public,
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def signed_sessions(app, user_ids: list[int]) -> list[tuple[str, str]]:
    """(session cookie, CSRF token) per user: what /auth/login would hand each browser.

    Logging 1,000 people in through /auth/login would spend 0.2 s of argon2 each, and the login
    rate limit is there to stop exactly that. The cookie carries Flask-Login's keys signed with
    the app's key, so the register requests go through the real route, session and service.
    """
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from app.auth.login_flow import start_session
    from app.auth.models import User
    from app.extensions import db

    result = []
    serializer = app.session_interface.get_signing_serializer(app)
    for user_id in user_ids:
        with app.app_context(), app.test_request_context("/"):
            start_session(
                db.session.get(User, user_id), remember=False, second_factor=True, method="password"
            )
            db.session.commit()
            token = generate_csrf()
            result.append((serializer.dumps(dict(session)), token))
    return result


def start(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    RESULTS.mkdir(parents=True, exist_ok=True)
    handle = log_path.open("w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    processes.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def stop_all() -> None:
    for proc in processes:
        stop(proc)


def wait_for_http(url: str, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed_clients(clients: int, seconds: float, request: Callable[[int], int | None]) -> dict:
    """Run `request(client_index)` in a loop on `clients` threads for `seconds`, all released
    together; returns the 200s per second, p50/p99 latency and the status counts. `request`
    returns the HTTP status (-1 for a connection error), or None to stop its client."""
    import statistics
    import threading

    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def loop(index: int) -> None:
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            status = request(index)
            if status is None:
                break
            latencies[index].append(time.perf_counter() - began)
            statuses[index][status] = statuses[index].get(status, 0) + 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    stop_at[0] = began + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [x for per_client in latencies for x in per_client] or [0.0]
    counts: dict[int, int] = {}
    for per_client in statuses:
        for status, n in per_client.items():
            counts[status] = counts.get(status, 0) + n
    return {
        "ok": counts.get(200, 0),
        "per_s": counts.get(200, 0) / elapsed,
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": percentile(flat, 0.99) * 1000,
        "statuses": counts,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def time_served(app) -> dict:
    """Time each request inside the app's WSGI call (the test client's own work, building the
    request and keeping cookies, is the client's): the returned dict holds the last request's
    wall and CPU seconds."""
    served = {"wall": 0.0, "cpu": 0.0}
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(environ, start_response)
        finally:
            served["wall"] = time.perf_counter() - wall
            served["cpu"] = time.process_time() - cpu

    app.wsgi_app = wsgi_app
    return served
