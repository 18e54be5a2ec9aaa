"""Server time of a login with TOTP against one without (issue 10: TOTP adds under 5 ms).

The app runs in this process on a fresh PostgreSQL database (SQLite with --sqlite); requests go
through Flask's test client, so the time measured is the server's: routing, CSRF, argon2, the
session row, the TOTP check. Wall time and this process's CPU time (the server's own work, less
distorted by a busy machine; PostgreSQL's work is in its own processes). Three timings,
interleaved so machine load hits them alike:

  password   POST /auth/login for a user without a second factor (signed in at once)
  with TOTP  POST /auth/login, then POST /auth/2fa with the current code
  2fa step   the POST /auth/2fa alone

The app's clock moves 30 s before each TOTP login, so every code is a fresh one (a code is
accepted once). Rate limits are off (they would stop a benchmark, which is their job).

    .venv/bin/python bench/login_totp.py [--rounds 60] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _database(use_sqlite: bool) -> tuple[str, callable]:
    if use_sqlite:
        path = Path(tempfile.mkdtemp()) / "login_totp.db"
        return f"sqlite:///{path}", lambda: None
    name = f"felag_bench_login_{os.getpid()}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, drop


def _csrf(client, url: str) -> str:
    return CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()

    url, drop = _database(args.sqlite)
    try:
        run(url, args.rounds)
    finally:
        drop()


def run(url: str, rounds: int) -> None:
    import events_common as common
    import pyotp

    from app import create_app
    from app.auth import totp
    from app.auth.services import create_user
    from app.core import timeutil
    from app.core.crypto import encrypt
    from app.extensions import db
    from config import TestingConfig

    app = create_app(
        TestingConfig,
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": "",
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_SUPPRESS_SEND": True,
            "STORAGE_DIR": tempfile.mkdtemp(),
        },
    )
    # Server time is measured inside the WSGI call: the test client's work is not the server's.
    served = common.time_served(app)
    clock = {"now": datetime.now(UTC)}
    timeutil.clock = lambda: clock["now"]
    with app.app_context():
        db.create_all()
        create_user("plain@example.org", "Plain", PASSWORD, [], True, "en")
        second = create_user("totp@example.org", "Totp", PASSWORD, [], True, "en")
        secret = pyotp.random_base32()
        second.totp_secret = encrypt(secret)
        second.totp_confirmed_at = clock["now"]
        db.session.commit()
        second_id = second.id

    def login(client, email: str) -> float:
        token = _csrf(client, "/auth/login")
        response = client.post(
            "/auth/login", data={"csrf_token": token, "email": email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.status_code
        return served["wall"], served["cpu"]

    def second_step(client) -> float:
        token = _csrf(client, "/auth/2fa")
        code = pyotp.TOTP(secret).at(clock["now"])
        response = client.post("/auth/2fa", data={"csrf_token": token, "code": code})
        assert response.status_code == 302, response.get_data(as_text=True)[:200]
        return served["wall"], served["cpu"]

    times = {"password": [], "with TOTP": [], "2fa step": []}
    for n in range(rounds + 5):  # the first five warm the process up and are not counted
        clock["now"] += timedelta(seconds=30)
        plain_time = login(app.test_client(), "plain@example.org")
        client = app.test_client()
        first = login(client, "totp@example.org")
        step = second_step(client)
        if n >= 5:
            times["password"].append(plain_time)
            times["with TOTP"].append((first[0] + step[0], first[1] + step[1]))
            times["2fa step"].append(step)

    load = os.getloadavg()
    print(f"{rounds} rounds on {url.split(':', 1)[0]}; load average {load[0]:.2f} {load[1]:.2f}")
    medians = {}
    for name, values in times.items():
        wall = sorted(v[0] for v in values)
        cpu = sorted(v[1] for v in values)
        medians[name] = (statistics.median(wall), statistics.median(cpu))
        print(
            f"{name:10} wall median {medians[name][0] * 1000:7.2f} ms "
            f"p90 {wall[int(len(wall) * 0.9)] * 1000:7.2f} ms | "
            f"server CPU median {medians[name][1] * 1000:7.2f} ms"
        )
    for index, kind in ((0, "wall"), (1, "server CPU")):
        added = medians["with TOTP"][index] - medians["password"][index]
        print(f"TOTP adds ({kind}, median with TOTP - median password): {added * 1000:.2f} ms")
    with app.app_context():
        from app.auth.models import User

        user = db.session.get(User, second_id)
        checks = []
        for _ in range(200):
            clock["now"] += timedelta(seconds=30)
            code = pyotp.TOTP(secret).at(clock["now"])
            start = time.perf_counter()
            totp.verify_code(user, code)
            checks.append(time.perf_counter() - start)
        db.session.rollback()
        print(f"totp.verify_code alone: median {statistics.median(checks) * 1000:.3f} ms")


if __name__ == "__main__":
    main()
