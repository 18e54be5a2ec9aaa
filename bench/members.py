"""Members benchmark: the staff directory search and the CSV export with 20,000 members.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/members.py                 # 20,000 members, 300 searches
    .venv/bin/python bench/members.py --count 5000 --searches 100

Steps: (1) drop and create the database felag_bench_members and build the schema with
create_all (it creates the pg_trgm extension for the name index); (2) `flask members
generate-demo --count N` and a membership staff user; (3) serve the app with gunicorn (2 sync
workers, bench/gunicorn.conf.py); (4) log in over HTTP and time directory searches of several
kinds (name fragments, e-mail, phone, exact national ID, filters, sorting, later pages), each
request timed end to end by the client, and report p50/p95/max per kind and overall; (5) stream
the CSV export of every member while sampling the RSS of both workers from /proc every 20 ms,
and report the time, the size, the rows and the RSS before, at its peak and after; (6) write the
table to stdout and bench/results/members.txt. Everything runs under a deadline and the server is
always stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"
DB_NAME = "felag_bench_members"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
SECRET_KEY = "bench-members-secret-key-that-is-long-enough-0123456789abcdef"
STAFF = ("bench-staff@felag.local", "bench-staff-password-123")
DEADLINE_SECONDS = 1500
TARGET_P50_MS = 100
TARGET_EXPORT_S = 5

processes: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def claim_redis_db() -> int:
    """A Redis database number no test session or other bench holds (the tests' scheme)."""
    import redis

    conn = redis.Redis(host="127.0.0.1")
    for number in range(15, 0, -1):
        if conn.set(f"felag-test-db:{number}", f"bench-{os.getpid()}", nx=True, ex=3600):
            redis.Redis(host="127.0.0.1", db=number).flushdb()
            return number
    raise SystemExit("every Redis database is taken")


def release_redis_db(number: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", db=number).flushdb()
    redis.Redis(host="127.0.0.1").delete(f"felag-test-db:{number}")


def app_env(redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLASK_APP="wsgi",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        SECRET_KEY=SECRET_KEY,
        FELAG_ENV="development",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("FLASK_DEBUG", None)
    return env


def run(cmd: list[str], env: dict, timeout: int) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(count: int, env: dict) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    py = str(VENV_BIN / "python")
    run(
        [
            py,
            "-c",
            "from app import create_app; from app.extensions import db; "
            "app = create_app(); app.app_context().push(); db.create_all()",
        ],
        env,
        300,
    )
    log(f"generating {count} members")
    log(
        run(
            [str(VENV_BIN / "flask"), "members", "generate-demo", "--count", str(count)], env, 900
        ).strip()
    )
    run(
        [
            str(VENV_BIN / "flask"),
            "users",
            "create",
            STAFF[0],
            "--name",
            "Bench Staff",
            "--password",
            STAFF[1],
            "--role",
            "membership",
            "--verified",
        ],
        env,
        120,
    )
    run(
        [
            py,
            "-c",
            "from app import create_app; from app.extensions import db; "
            "import sqlalchemy as sa; app = create_app(); app.app_context().push(); "
            "conn = db.engine.connect().execution_options(isolation_level='AUTOCOMMIT'); "
            "conn.execute(sa.text('VACUUM ANALYZE'))",
        ],
        env,
        300,
    )


def start_server(env: dict, port: int) -> subprocess.Popen:
    server_env = dict(env, BENCH_BIND=f"127.0.0.1:{port}", BENCH_WORKERS="2")
    log_file = open(RESULTS / "gunicorn-members.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "bench/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=server_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes.append(proc)
    import requests

    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/auth/login", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def stop_all() -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def login(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/auth/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/auth/login",
        data={"email": STAFF[0], "password": STAFF[1], "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.status_code
    return session


def search_cases(env: dict) -> list[tuple[str, dict]]:
    """Queries of each kind, with real values from the generated data."""
    script = (
        "from app import create_app; from app.extensions import db; import sqlalchemy as sa; "
        "from app.members.models import Membership; from app.auth.models import User; "
        "from app.members import national_id; import random, json; "
        "app = create_app(); app.app_context().push(); rng = random.Random(3); "
        "rows = db.session.execute(sa.select(Membership.full_name, User.email, Membership.phone, "
        "Membership.national_id_encrypted).join(User, User.id == Membership.user_id)"
        ".where(Membership.national_id_encrypted.is_not(None))"
        ".order_by(Membership.id).limit(2000)).all(); "
        "picked = rng.sample(rows, 40); "
        "print(json.dumps([[n, e, p, national_id.decrypt(k)] for n, e, p, k in picked]))"
    )
    import json

    people = json.loads(run([str(VENV_BIN / "python"), "-c", script], env, 120))
    cases = []
    for name, email, phone, number in people:
        first, last = name.split()[0], name.split()[-1]
        cases.append(("name fragment", {"q": last[:5].lower()}))
        cases.append(("full name", {"q": f"{first} {last}"}))
        cases.append(("e-mail", {"q": email.split("@")[0][-8:] + "@"}))
        cases.append(("phone", {"q": phone[-8:]}))
        cases.append(("national ID", {"q": f"{number[:6]}-{number[6:]}"}))
    for municipality in ("Reykjavíkurborg", "Akureyrarbær", "Københavns Kommune"):
        cases.append(("filters", {"municipality": municipality, "status": "active"}))
        cases.append(("filters", {"joined_from": "2015-01-01", "sort": "-joined"}))
    for page in (1, 2, 50, 200):
        cases.append(("browse pages", {"page": str(page)}))
        cases.append(("browse pages", {"page": str(page), "sort": "-name"}))
    return cases


def bench_search(base: str, cases: list, total: int) -> dict[str, list[float]]:
    session = login(base)
    rng = random.Random(5)
    timings: dict[str, list[float]] = {}
    for case in cases[:8]:  # warm up both workers' connections and caches
        session.get(f"{base}/staff/members/", params=case[1])
    for i in range(total):
        kind, params = cases[i % len(cases)] if i < len(cases) else rng.choice(cases)
        started = time.perf_counter()
        response = session.get(f"{base}/staff/members/", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (response.status_code, params)
        timings.setdefault(kind, []).append(elapsed)
    return timings


def bench_export(base: str, master: int) -> dict:
    session = login(base)
    pids = worker_pids(master)
    before = {pid: rss_mb(pid) for pid in pids}
    peaks = dict(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for pid in pids:
                try:
                    peaks[pid] = max(peaks[pid], rss_mb(pid))
                except FileNotFoundError:
                    pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    first_byte = None
    size = 0
    newlines = 0
    with session.get(f"{base}/staff/members/export.csv", stream=True) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(chunk_size=65536):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            newlines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    time.sleep(0.5)
    after = {pid: rss_mb(pid) for pid in pids}
    worker = max(pids, key=lambda pid: peaks[pid] - before[pid])
    return {
        "seconds": elapsed,
        "first_byte": first_byte,
        "bytes": size,
        "rows": newlines - 1,
        "rss_before": before[worker],
        "rss_peak": peaks[worker],
        "rss_after": after[worker],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--exports", type=int, default=2)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("deadline")))
    signal.alarm(DEADLINE_SECONDS)
    redis_db = claim_redis_db()
    env = app_env(redis_db)
    try:
        prepare(args.count, env)
        port = free_port()
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        cases = search_cases(env)
        log(f"{args.searches} directory searches")
        timings = bench_search(base, cases, args.searches)
        exports = []
        for i in range(args.exports):
            log(f"export {i + 1}")
            exports.append(bench_export(base, server.pid))
    finally:
        stop_all()
        release_redis_db(redis_db)
        signal.alarm(0)

    every = [t for values in timings.values() for t in values]
    lines = [
        f"Members benchmark, {datetime.now():%Y-%m-%d %H:%M}, {args.count} members on PostgreSQL,",
        "gunicorn 2 sync workers on 127.0.0.1, client timing end to end (requests, one at a time).",
        "",
        f"{'directory search':<22}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}",
    ]
    for kind, values in list(timings.items()) + [("ALL", every)]:
        lines.append(
            f"{kind:<22}{len(values):>5}{statistics.median(values):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{max(values):>9.1f}"
        )
    lines.append("")
    lines.append(
        f"{'CSV export (all)':<18}{'rows':>7}{'MB':>7}{'first byte':>12}{'total s':>9}"
        f"{'RSS before':>12}{'peak':>7}{'after':>7}"
    )
    for e in exports:
        lines.append(
            f"{'':<18}{e['rows']:>7}{e['bytes'] / 1e6:>7.2f}{e['first_byte']:>11.2f}s"
            f"{e['seconds']:>9.2f}{e['rss_before']:>11.1f}M{e['rss_peak']:>6.1f}M"
            f"{e['rss_after']:>6.1f}M"
        )
    p50 = statistics.median(every)
    worst_export = max(e["seconds"] for e in exports)
    lines += [
        "",
        f"search p50 {p50:.1f} ms (target < {TARGET_P50_MS} ms): "
        f"{'OK' if p50 < TARGET_P50_MS else 'MISSED'}",
        f"export of all {exports[-1]['rows']} rows {worst_export:.2f} s "
        f"(target < {TARGET_EXPORT_S} s): {'OK' if worst_export < TARGET_EXPORT_S else 'MISSED'}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (RESULTS / "members.txt").write_text(text)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
