"""Check-in benchmark: POST /api/v1/checkin through gunicorn on PostgreSQL, against the floor.

Run from the repository root (PostgreSQL and Redis on their local defaults, wrk installed):

    .venv/bin/python bench/checkin.py                       # 3 rounds of 10 s per cell
    .venv/bin/python bench/checkin.py --duration 5 --rounds 1

Steps: (1) drop and create the database felag_bench_checkin, build the schema (create_all),
add a door volunteer with an API token, one event and --tickets confirmed registrations with
real signed codes; (2) serve three targets with gunicorn and the same bench/gunicorn.conf.py
(2 sync workers): "app" = POST /api/v1/checkin of wsgi:app; "bare" = bench/checkin_bare_app.py,
the same Félag application with one bench-only route that does only the conditional UPDATE ...
RETURNING (the floor of a check-in in this stack); "floor" = bench/checkin_floor_app.py, that
UPDATE in a minimal Flask app without Félag's extensions and hooks; (3) for 1, 10 and 50
scanners flat out (wrk; bench/checkin.lua gives every request a different valid ticket) and for
10 and 50 scanners at a volunteer's pace (Python threads pausing 0-1 s between scans) and 50
scanners at shorter pauses (0-500 ms, 0-250 ms: two and four times the load), run the targets
back to back, resetting the check-ins, the scan log and Redis before each run; every
answer must be "ok" and the database must hold as many check-ins as were answered; the CPU
time of the workers and of PostgreSQL per check-in is read from /proc; (4) the median round
per cell goes to stdout and bench/results/checkin.txt.

The app runs with CHECKIN_RATE_LIMIT raised so that the limiter (still on, still asking Redis on
every request) does not answer 429 to a load no real door produces. Everything runs under a
deadline and the servers are always stopped.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
DB_NAME = "felag_bench_checkin"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
DEADLINE_SECONDS = 1500
CONCURRENCY = (1, 10, 50)
TARGET_RATIO = 0.60
TARGET_P99_MS = 50.0

servers: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def claim_redis_db() -> int:
    """A Redis database number no test session or other bench holds (the tests' scheme)."""
    import redis

    conn = redis.Redis(host="127.0.0.1")
    for number in range(15, 0, -1):
        if conn.set(f"felag-test-db:{number}", f"bench-checkin-{os.getpid()}", nx=True, ex=3600):
            redis.Redis(host="127.0.0.1", db=number).flushdb()
            return number
    raise SystemExit("every Redis database is taken")


def release_redis_db(number: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", db=number).flushdb()
    redis.Redis(host="127.0.0.1").delete(f"felag-test-db:{number}")


def app_env(redis_db: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("S3_BUCKET", "MAIL_SERVER", "FLASK_DEBUG"):
        env.pop(key, None)
    env.update(
        FLASK_APP="wsgi",
        FELAG_ENV="development",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        SECRET_KEY="bench-checkin-secret-key-that-is-long-enough-0123456789abcdef",
        CHECKIN_RATE_LIMIT="100000000 per minute",
        PYTHONDONTWRITEBYTECODE="1",
        **extra,
    )
    return env


# 1. Data ------------------------------------------------------------------------------------


def fresh_database() -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()


def seed(env: dict[str, str], tickets: int, codes_path: Path) -> dict:
    """The schema, a volunteer with a token, an event and its confirmed, signed tickets."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        db.create_all()
    info = seed_door(app, tickets)
    codes_path.write_text("\n".join(info.pop("codes")) + "\n")
    with app.app_context():
        db.engine.dispose()
    return info


def seed_door(app, tickets: int) -> dict:
    """A door volunteer with an API token, an event and `tickets` confirmed registrations with
    real signed codes: {"event_id", "user_id", "key", "codes"} (also bench/checkin_calls.py)."""
    from datetime import timedelta

    from app.api.services import create_token
    from app.auth.services import create_user
    from app.core.timeutil import utcnow
    from app.events.models import Event, Registration
    from app.events.tickets import make_code, new_key_pair
    from app.extensions import db

    with app.app_context():
        volunteer = create_user(
            "door@bench.local",
            "Bench Door",
            "bench-password-0123456789",
            ["door"],
            True,
            "en",
            check_password=False,
        )
        db.session.flush()
        _token, key = create_token(volunteer, "bench scanner")
        private, public = new_key_pair()
        starts = utcnow() + timedelta(hours=1)
        event = Event(
            title="Bench door",
            slug="bench-door",
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
            capacity=None,
            confirmed_count=tickets,
            status="published",
            published_at=utcnow(),
            signing_key_encrypted=private,
            public_key=public,
        )
        db.session.add(event)
        db.session.commit()
        now = utcnow()
        codes = [make_code(event.id, private) for _ in range(tickets)]
        table = Registration.__table__
        for start in range(0, tickets, 5000):
            db.session.execute(
                table.insert(),
                [
                    {
                        "event_id": event.id,
                        "name": f"Guest {n}",
                        "email": f"guest{n}@bench.local",
                        "state": "confirmed",
                        "created_at": now,
                        "confirmed_at": now,
                        "ticket_code": codes[n],
                    }
                    for n in range(start, min(start + 5000, tickets))
                ],
            )
        db.session.commit()
        return {"event_id": event.id, "user_id": volunteer.id, "key": key, "codes": codes}


def reset(redis_db: int) -> None:
    """No check-ins, an empty scan log and limiter, and no dead rows left from the last run."""
    import redis
    import sqlalchemy as sa

    engine = sa.create_engine(
        DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "UPDATE registrations SET checked_in_at = NULL, checked_in_by_id = NULL "
                "WHERE checked_in_at IS NOT NULL"
            )
        )
        conn.execute(sa.text("TRUNCATE checkin_scans"))
        conn.execute(sa.text("VACUUM ANALYZE registrations"))
        conn.execute(sa.text("VACUUM ANALYZE checkin_scans"))
    engine.dispose()
    redis.Redis(host="127.0.0.1", db=redis_db).flushdb()


def database_counts() -> tuple[int, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        checked = conn.execute(
            sa.text("SELECT count(*) FROM registrations WHERE checked_in_at IS NOT NULL")
        ).scalar_one()
        logged = conn.execute(
            sa.text("SELECT count(*) FROM checkin_scans WHERE result = 'ok'")
        ).scalar_one()
    engine.dispose()
    return checked, logged


# 2. Servers ---------------------------------------------------------------------------------


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def start_server(name: str, module: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    RESULTS.mkdir(parents=True, exist_ok=True)
    logfile = open(RESULTS / f"gunicorn-checkin-{name}.log", "w")  # noqa: SIM115
    cmd = [str(VENV_BIN / "gunicorn"), "-c", str(BENCH / "gunicorn.conf.py"), module]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**env, "BENCH_BIND": f"127.0.0.1:{port}", "BENCH_WORKERS": "2"},
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    servers.append(proc)
    probe = f"http://127.0.0.1:{port}/api/v1/checkin"
    for _ in range(1200):  # a preloaded app binds once it is imported: slow on a busy machine
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn for {name} exited; see {logfile.name}")
        try:
            urllib.request.urlopen(probe, timeout=2)
        except urllib.error.HTTPError:
            break  # it answers (405 for a GET)
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"gunicorn for {name} did not answer on {probe}")
    for _ in range(100):
        if len(worker_pids(proc.pid)) == 2:
            break
        time.sleep(0.1)
    log(f"{name}: gunicorn master {proc.pid}, workers {worker_pids(proc.pid)} on port {port}")
    return proc


def stop_servers() -> None:
    for proc in servers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in servers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


# 3. Load ------------------------------------------------------------------------------------

RESULT_RE = re.compile(
    r"RESULT requests=(\d+) duration_us=(\d+) not_ok=(\d+) http_errors=(\d+) exhausted=(\d+) "
    r"socket_errors=(\d+)"
)
LATENCY_RE = re.compile(r"LATENCY_US p50=(\d+) p90=(\d+) p99=(\d+) p999=(\d+) max=(\d+) mean=(\d+)")


def run_wrk(
    base: str,
    connections: int,
    duration: int,
    codes: Path,
    info: dict,
    label: str,
    pause_ms: int = 0,
    path: str = "/api/v1/checkin",
):
    """Scanners flat out: wrk, each connection sending its next scan when the answer arrives."""
    threads = min(connections, 2)
    cmd = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "checkin.lua"),
        base,
        "--",
        str(codes),
        str(info["event_id"]),
        info["key"],
        label,
        str(threads),
        path,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    out = done.stdout
    result, latency = RESULT_RE.search(out), LATENCY_RE.search(out)
    if not result or not latency:
        raise SystemExit(f"wrk said:\n{out}\n{done.stderr}")
    requests, duration_us, not_ok, http_errors, exhausted, socket_errors = map(int, result.groups())
    p50, p90, p99, p999, worst, mean = (int(v) / 1000 for v in latency.groups())
    return {
        "requests": requests,
        "rps": requests / (duration_us / 1e6),
        "not_ok": not_ok,
        "http_errors": http_errors,
        "exhausted": exhausted,
        "socket_errors": socket_errors,
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "p999": p999,
        "max": worst,
        "mean": mean,
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def postgres_backends() -> list[int]:
    """The PostgreSQL server processes serving the bench database."""
    import sqlalchemy as sa

    engine = sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        pids = (
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": DB_NAME},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return list(pids)


def run_paced(
    base: str,
    connections: int,
    duration: int,
    codes: Path,
    info: dict,
    label: str,
    pause_ms: int,
    path: str = "/api/v1/checkin",
) -> dict:
    """Scanners at a volunteer's pace: each waits 0-2x pause_ms (pause_ms on average) between
    scans, so the latency measured is the answer time of a door that is not flat out.

    wrk's own pacing hook counts the pause into the latency, so this load comes from Python
    threads instead (a few dozen requests a second; the client's cost is small beside that).
    """
    import http.client
    import json
    import random
    import threading

    host, port = base.removeprefix("http://").split(":")
    all_codes = codes.read_text().split()
    lock = threading.Lock()
    position = iter(range(len(all_codes)))
    latencies: list[float] = []
    failures: list[str] = []
    stop_at = time.monotonic() + duration

    def scanner(number: int) -> None:
        rng = random.Random(number)
        while True:
            time.sleep(rng.uniform(0, 2 * pause_ms / 1000))
            if time.monotonic() >= stop_at:
                return
            with lock:
                index = next(position)
            body = json.dumps(
                {
                    "code": all_codes[index],
                    "event_id": info["event_id"],
                    "nonce": f"{label}-{number}-{index}",
                }
            )
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                conn.request(
                    "POST",
                    path,
                    body,
                    {"Content-Type": "application/json", "Authorization": f"Token {info['key']}"},
                )
                response = conn.getresponse()
                answer = response.read()
            except OSError as exc:
                failures.append(repr(exc))
                continue
            finally:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 200 or b'"status":"ok"' not in answer:
                    failures.append(f"{response.status} {answer[:80]!r}")

    threads = [threading.Thread(target=scanner, args=(n,)) for n in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "not_ok": len(failures),
        "http_errors": 0,
        "exhausted": 0,
        "socket_errors": 0,
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "p999": pct(99.9),
        "max": latencies[-1],
        "mean": sum(latencies) / len(latencies),
    }


TARGETS = {
    # name: (gunicorn module, path)
    "app": ("wsgi:app", "/api/v1/checkin"),
    "bare": ("bench.checkin_bare_app:app", "/bench/checkin"),
    "floor": ("bench.checkin_floor_app:app", "/api/v1/checkin"),
}


def measure(targets, connections, duration, codes, info, redis_db, label, pause_ms=0) -> dict:
    """One run per target on a fresh state, each checked against the database."""
    runs = {}
    for name, (base, path, proc) in targets.items():
        reset(redis_db)
        workers = worker_pids(proc.pid)
        backends = postgres_backends()
        cpu_before = cpu_seconds(workers), cpu_seconds(backends)
        runner = run_paced if pause_ms else run_wrk
        run = runner(base, connections, duration, codes, info, f"{name}-{label}", pause_ms, path)
        time.sleep(1)  # requests still in a worker when wrk stopped finish first
        # CPU per check-in, of the two workers and of the database (its backends) alone:
        # unlike req/s, hardly moved by what else the shared machine is running.
        run["worker_cpu_ms"] = (cpu_seconds(workers) - cpu_before[0]) / run["requests"] * 1000
        run["db_cpu_ms"] = (cpu_seconds(backends) - cpu_before[1]) / run["requests"] * 1000
        checked, logged = database_counts()
        problems = []
        if run["not_ok"] or run["http_errors"] or run["socket_errors"]:
            problems.append("answers that were not ok")
        if run["exhausted"]:
            problems.append("ran out of tickets: raise --tickets")
        if not run["requests"] <= checked <= run["requests"] + connections:
            problems.append(f"database has {checked} check-ins")
        if name == "app" and logged != checked:
            problems.append(f"scan log has {logged} ok scans")
        run["problems"] = problems
        runs[name] = run
        log(
            f"{name}-{label}: {run['rps']:.0f} req/s, p50 {run['p50']:.1f} ms, "
            f"p99 {run['p99']:.1f} ms, {run['requests']} requests, {checked} in the database, "
            f"CPU/check-in workers {run['worker_cpu_ms']:.2f} ms + database "
            f"{run['db_cpu_ms']:.2f} ms{'; ' + ', '.join(problems) if problems else ''}"
        )
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=90000)
    parser.add_argument(
        "--pauses",
        default="500,250,125",
        help="mean pauses between scans (ms) for 50 scanners at a pace; the first is a "
        "volunteer's, also run with 10 scanners",
    )
    args = parser.parse_args()
    pauses = [int(p) for p in args.pauses.split(",")]
    paced_cells = [(10, pauses[0])] + [(50, pause) for pause in pauses]
    started = time.monotonic()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("deadline")))
    signal.alarm(DEADLINE_SECONDS)

    redis_db = claim_redis_db()
    env = app_env(redis_db)
    codes = RESULTS / "checkin-codes.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    saturated: dict[int, list[dict]] = {}
    paced: dict[tuple[int, int], list[dict]] = {}
    try:
        log(f"database {DB_NAME}, Redis db {redis_db}, {args.tickets} tickets")
        fresh_database()
        info = seed(env, args.tickets, codes)
        log(f"seeded in {time.monotonic() - started:.0f} s")
        env = {
            **env,
            "BENCH_EVENT_ID": str(info["event_id"]),
            "BENCH_USER_ID": str(info["user_id"]),
        }
        targets = {}
        for name, (module, path) in TARGETS.items():
            port = free_port()
            proc = start_server(name, module, port, env)
            targets[name] = (f"http://127.0.0.1:{port}", path, proc)

        measure(targets, 10, 3, codes, info, redis_db, "warm-up")
        for round_number in range(args.rounds):
            # Rounds interleaved, the targets back to back: load from elsewhere hits all alike.
            for connections in CONCURRENCY:
                saturated.setdefault(connections, []).append(
                    measure(
                        targets,
                        connections,
                        args.duration,
                        codes,
                        info,
                        redis_db,
                        f"c{connections}-r{round_number}",
                    )
                )
            for connections, pause in paced_cells:
                paced.setdefault((connections, pause), []).append(
                    measure(
                        targets,
                        connections,
                        args.duration,
                        codes,
                        info,
                        redis_db,
                        f"paced{pause}-c{connections}-r{round_number}",
                        pause,
                    )
                )
    finally:
        stop_servers()
        release_redis_db(redis_db)
        codes.unlink(missing_ok=True)

    def median_round(rounds: list[dict]) -> dict:
        """The round whose app/bare ratio is the median (all figures from that one round)."""
        ordered = sorted(rounds, key=lambda r: r["app"]["rps"] / r["bare"]["rps"])
        return ordered[len(ordered) // 2]

    load = os.getloadavg()
    lines = [
        f"Check-in benchmark, {datetime.now():%Y-%m-%d %H:%M}: gunicorn (2 sync workers, "
        f"bench/gunicorn.conf.py) on PostgreSQL, {args.tickets} tickets, every request a "
        f"different valid ticket; {args.rounds} rounds x {args.duration} s per cell, the "
        "median round (by app/bare) shown.",
        "app = POST /api/v1/checkin (token, rate limit, signature, conditional UPDATE + scan "
        "log); bare = only the conditional UPDATE ... RETURNING, in the same Félag app; "
        "floor = only that UPDATE, in a minimal Flask app.",
        f"Machine: {os.cpu_count()} cores shared by the servers, PostgreSQL, Redis and the load "
        f"generator (and other people's work); load average {load_before[0]:.1f} before, "
        f"{load[0]:.1f} after.",
        "",
        "Flat out (each scanner sends its next scan when the answer arrives):",
        f"{'scanners':>8} {'app/s':>6} {'bare/s':>6} {'floor/s':>7} {'app/bare':>8} "
        f"{'app/floor':>9} | {'app p50':>7} {'p99':>6} | {'bare p50':>8} {'p99':>6} | "
        f"{'floor p50':>9} {'p99':>6}  (ms)",
    ]
    verdicts = []
    for connections in CONCURRENCY:
        chosen = median_round(saturated[connections])
        a, b, f = chosen["app"], chosen["bare"], chosen["floor"]
        ratio = a["rps"] / b["rps"]
        lines.append(
            f"{connections:>8} {a['rps']:>6.0f} {b['rps']:>6.0f} {f['rps']:>7.0f} "
            f"{ratio:>8.0%} {a['rps'] / f['rps']:>9.0%} | {a['p50']:>7.1f} {a['p99']:>6.1f} | "
            f"{b['p50']:>8.1f} {b['p99']:>6.1f} | {f['p50']:>9.1f} {f['p99']:>6.1f}"
        )
        if connections == 50:
            verdicts.append(
                f"50 scanners flat out: app/bare {ratio:.0%} (target >= {TARGET_RATIO:.0%}): "
                + ("met" if ratio >= TARGET_RATIO else "NOT met")
                + f"; app/floor {a['rps'] / f['rps']:.0%}"
            )
            verdicts.append(
                f"50 scanners flat out: app p99 {a['p99']:.1f} ms "
                f"(target < {TARGET_P99_MS:.0f} ms): "
                + ("met" if a["p99"] < TARGET_P99_MS else "NOT met")
            )
    lines += [
        "",
        "CPU per check-in, flat out (ms; the two gunicorn workers + the PostgreSQL backends):",
        f"{'scanners':>8}  {'app':>13}  {'bare':>13}  {'floor':>13}",
    ]
    for connections in CONCURRENCY:
        chosen = median_round(saturated[connections])
        cells = "  ".join(
            f"{chosen[n]['worker_cpu_ms']:>5.2f} + {chosen[n]['db_cpu_ms']:>5.2f}"
            for n in ("app", "bare", "floor")
        )
        lines.append(f"{connections:>8}  {cells}")
    lines += [
        "",
        "At a pace (each scanner pauses between 0 and twice the mean pause between scans; "
        f"{pauses[0]} ms is a volunteer's; latency from the client's send to the answer):",
        f"{'scanners':>8} {'pause':>5} {'app/s':>6} | {'app p50':>7} {'p99':>6} {'max':>6} | "
        f"{'bare p50':>8} {'p99':>6} | {'floor p50':>9} {'p99':>6}  (ms)",
    ]
    for connections, pause in paced_cells:
        chosen = median_round(paced[(connections, pause)])
        a, b, f = chosen["app"], chosen["bare"], chosen["floor"]
        lines.append(
            f"{connections:>8} {pause:>5} {a['rps']:>6.0f} | {a['p50']:>7.1f} {a['p99']:>6.1f} "
            f"{a['max']:>6.1f} | {b['p50']:>8.1f} {b['p99']:>6.1f} | {f['p50']:>9.1f} "
            f"{f['p99']:>6.1f}"
        )
        if connections == 50:
            worst = max(r["app"]["p99"] for r in paced[(connections, pause)])
            verdicts.append(
                f"50 scanners pausing {pause} ms on average ({a['rps']:.0f} check-ins/s): app "
                f"p99 {a['p99']:.1f} ms, worst round {worst:.1f} ms (target < "
                f"{TARGET_P99_MS:.0f} ms): " + ("met" if worst < TARGET_P99_MS else "NOT met")
            )
    spread = ", ".join(
        f"c{conn} "
        + " / ".join(
            f"{n} {min(r[n]['rps'] for r in rounds):.0f}-{max(r[n]['rps'] for r in rounds):.0f}"
            for n in ("app", "bare", "floor")
        )
        for conn, rounds in saturated.items()
    )
    problems = sorted(
        {
            p
            for rounds in (*saturated.values(), *paced.values())
            for chosen in rounds
            for run in chosen.values()
            for p in run["problems"]
        }
    )
    lines += [
        "",
        *verdicts,
        "",
        f"req/s over the rounds (flat out): {spread}",
        "Checks: "
        + (
            "; ".join(problems)
            if problems
            else "every answer ok; the check-ins in the database match the answers; the "
            "app's scan log has one ok row per check-in."
        ),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    (RESULTS / "checkin.txt").write_text(text + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; written to bench/results/checkin.txt")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
