"""Foundation benchmark: `/` and `/auth/login` against a bare Flask "hello" app, plus worker memory.

Run from the repository root (PostgreSQL and Redis on their local defaults, wrk installed):

    .venv/bin/python bench/foundation.py                # 3 rounds of 20 s per target
    .venv/bin/python bench/foundation.py --duration 10 --rounds 1

Steps: (1) drop and create the database felag_bench_foundation, `flask db upgrade` (create_all
when the migrations fail), `flask seed-demo`, and the pages' data of issue 13 (bench/pages_data.py:
44 users, 20 events with images, 354 registrations); (2) serve the app and bench/hello_app.py with
gunicorn and the same bench/gunicorn.conf.py; (3) wrk at 20 connections on hello, `/`,
`/auth/login`, `/` signed in, the events list, an event's page and a member's `/account`, rounds
interleaved, the median round reported, plus the workers' CPU time per request from /proc;
(4) a fresh one-worker server gets exactly 1,000 requests and the worker's memory is read from
/proc (RSS, and PSS beside the master's, which the workers share pages with when preloaded), then
the same for bench/stack_floor_app.py (the design card's stack with nothing of Félag in it);
(5) the table goes to stdout and bench/results/foundation.txt. Everything runs under a deadline
and the servers are always stopped.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
DB_NAME = "felag_bench_foundation"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/14"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
DEADLINE_SECONDS = 1200
ADMIN_LOGIN = ("admin@felag.local", "felag-demo-admin")  # printed by `flask seed-demo`
MEMBER_LOGIN = ("pages-member@bench.local", "bench-pages-member-password")  # bench/pages_data.py
PAGE_EVENT = RESULTS / "foundation-event-path.txt"

TARGET_RATIO = 0.35
TARGET_RSS_MB = 75
TARGET_PAGE_CPU_MS = 2.5

servers: list[subprocess.Popen] = []
notes: list[str] = []


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def app_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLASK_APP="wsgi",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-foundation-secret-key-that-is-long-enough-0123456789",
        FELAG_ENV="development",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("FLASK_DEBUG", None)
    env.update(extra)
    return env


def run(cmd: list[str], timeout: int, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=ROOT, env=env or app_env(), capture_output=True, text=True, timeout=timeout
    )


# 1. Database -------------------------------------------------------------------------------


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def _last_line(result: subprocess.CompletedProcess) -> str:
    return ((result.stderr or result.stdout).strip().splitlines() or ["?"])[-1][:160]


def add_page_data() -> None:
    """Issue 13's page data (bench/pages_data.py); remembers the upcoming event's address."""
    result = run([str(VENV_BIN / "python"), str(BENCH / "pages_data.py")], timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"bench/pages_data.py failed:\n{result.stderr[-2000:]}")
    event_id, slug = result.stdout.split()[-2:]
    PAGE_EVENT.write_text(f"/events/{event_id}/{slug}")


def prepare_database() -> None:
    """Schema by `flask db upgrade`, else (migrations lagging behind the models) create_all."""
    import redis

    log(f"Creating database {DB_NAME}")
    _fresh_database()
    redis.Redis.from_url(REDIS_URL).flushdb()  # rate-limit counters from an earlier run
    flask = str(VENV_BIN / "flask")

    upgrade = run([flask, "db", "upgrade"], timeout=180)
    if upgrade.returncode == 0:
        log("Loading demo data (flask seed-demo)")
        seed = run([flask, "seed-demo"], timeout=600)
        if seed.returncode == 0:
            add_page_data()
            notes.append("schema: flask db upgrade; data: flask seed-demo, bench/pages_data.py")
            return
        reason = f"seed-demo after upgrade failed: {_last_line(seed)}"
    else:
        reason = f"flask db upgrade failed: {_last_line(upgrade)}"
    log(f"{reason}; falling back to create_all")
    _fresh_database()
    code = (
        "from app import create_app; from app.extensions import db; "
        "app = create_app(); app.app_context().push(); db.create_all()"
    )
    result = run([str(VENV_BIN / "python"), "-c", code], timeout=180)
    if result.returncode != 0:
        raise SystemExit(f"create_all failed:\n{result.stderr[-2000:]}")
    log("Loading demo data (flask seed-demo)")
    seed = run([flask, "seed-demo"], timeout=600)
    if seed.returncode != 0:
        raise SystemExit(f"flask seed-demo failed:\n{seed.stderr[-2000:]}")
    add_page_data()
    notes.append(f"schema: create_all ({reason}); data: flask seed-demo, bench/pages_data.py")


# 2. Servers --------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A port nobody listens on now (others may run benchmarks on this machine too)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(name: str, module: str, port: int, workers: int = 2) -> subprocess.Popen:
    if not port_is_free(port):
        raise SystemExit(f"Port {port} is in use; set --app-port/--hello-port to free ports.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    logfile = open(RESULTS / f"gunicorn-{name}.log", "w")  # noqa: SIM115 (closed at exit)
    env = app_env(BENCH_BIND=f"127.0.0.1:{port}", BENCH_WORKERS=str(workers))
    cmd = [str(VENV_BIN / "gunicorn"), "-c", str(BENCH / "gunicorn.conf.py"), module]
    cwd = ROOT if module.startswith("wsgi") else BENCH
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    servers.append(proc)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn for {name} exited; see {logfile.name}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"gunicorn for {name} did not answer on {url}")
    for _ in range(100):  # every worker booted
        if len(worker_pids(proc.pid)) == workers:
            break
        time.sleep(0.1)
    log(f"{name}: gunicorn master {proc.pid}, workers {worker_pids(proc.pid)} on port {port}")
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc in servers:
        servers.remove(proc)


def worker_pids(master: int) -> list[int]:
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def cpu_seconds(master: int) -> float:
    """User + system CPU time of a server's workers so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in worker_pids(master):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM from /proc/<pid>/status, Pss from smaps_rollup, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                values["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return values


# 3. Load -----------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unknown latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def wrk(url: str, duration: int, connections: int, threads: int, headers=()) -> dict:
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    cmd += ["--timeout", "5s"]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 30).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non2xx": 0,
        "errors": 0,
    }
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        result["non2xx"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        result["errors"] = sum(int(n) for n in match.groups())
    return result


def login_cookie(base: str, login: tuple[str, str] = ADMIN_LOGIN) -> str:
    """Log a person in once (the demo admin by default) and return the session cookie."""
    import requests

    session = requests.Session()
    page = session.get(base + "/auth/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    response = session.post(
        base + "/auth/login",
        data={"csrf_token": token.group(1), "email": login[0], "password": login[1]},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code not in (302, 303):
        raise SystemExit(f"login of {login[0]} failed ({response.status_code})")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


# 4. Memory ---------------------------------------------------------------------------------


def memory_run(port: int) -> dict:
    """A fresh one-worker server; exactly 1,000 requests through the worker; its memory."""
    import requests

    def mixed_paths(base: str):
        anonymous = requests.Session()
        member = requests.Session()
        member.headers["Cookie"] = login_cookie(base)  # GET + POST
        reader = requests.Session()
        reader.headers["Cookie"] = login_cookie(base, MEMBER_LOGIN)
        event = PAGE_EVENT.read_text().strip()
        paths = [
            (anonymous, "/"),
            (anonymous, "/auth/login"),
            (anonymous, "/events/"),
            (anonymous, event),
            (member, "/"),
            (member, "/account"),
            (member, "/staff/"),
            (reader, "/account"),
            (reader, "/events/"),
            (reader, event),
        ]
        return paths, 4  # the two logins' GET and POST

    return _memory_after_1000("memory", "wsgi:app", port, mixed_paths)


def floor_memory_run(port: int) -> dict:
    """The same for bench/stack_floor_app.py: the stack's own memory, 1,000 requests of `/`."""
    import requests

    return _memory_after_1000(
        "floor-memory", "stack_floor_app:app", port, lambda _base: ([(requests.Session(), "/")], 0)
    )


def _memory_after_1000(name: str, module: str, port: int, make_paths) -> dict:
    """Serve `module` with one worker; `make_paths(base)` gives the (client, path) rounds and how
    many requests making them sent; the readiness probe counts as one."""
    proc = start_server(name, module, port, workers=1)
    try:
        (worker,) = worker_pids(proc.pid)
        base = f"http://127.0.0.1:{port}"
        after_boot = memory_of(worker)
        paths, served = make_paths(base)
        served += 1  # start_server's readiness probe
        statuses: dict[int, int] = {}
        i = 0
        while served < 1000:
            client, path = paths[i % len(paths)]
            status = client.get(base + path, timeout=10, allow_redirects=False).status_code
            statuses[status] = statuses.get(status, 0) + 1
            served += 1
            i += 1
        return {
            "boot": after_boot,
            "after": memory_of(worker),
            "master": memory_of(proc.pid),
            "served": served,
            "statuses": statuses,
        }
    finally:
        stop_server(proc)


# 5. Report ---------------------------------------------------------------------------------


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]  # the lower middle one for an even count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per target")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--app-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--hello-port", type=int, default=0)
    parser.add_argument("--memory-port", type=int, default=0)
    parser.add_argument("--skip-db", action="store_true", help="reuse the existing database")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=1.0,
        help="wait (at most --quiet-wait s) until the 1-minute load average is below this",
    )
    parser.add_argument("--quiet-wait", type=int, default=300)
    args = parser.parse_args()
    args.app_port = args.app_port or free_port()
    args.hello_port = args.hello_port or free_port()
    args.memory_port = args.memory_port or free_port()

    if not Path(WRK).exists():
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    started = datetime.now(UTC)
    if not args.skip_db:
        prepare_database()
    # Others may be running tests on the same cores: wait (bounded) for a quieter moment.
    waited = 0
    while os.getloadavg()[0] >= args.quiet_load and waited < args.quiet_wait:
        if waited % 60 == 0:
            log(f"load average {os.getloadavg()[0]:.2f}; waiting for < {args.quiet_load}")
        time.sleep(5)
        waited += 5
    load_before = os.getloadavg()
    if load_before[0] >= args.quiet_load:
        notes.append(f"machine busy: load average {load_before[0]:.2f} at start, figures noisy")

    app = start_server("app", "wsgi:app", args.app_port)
    hello = start_server("hello", "hello_app:app", args.hello_port)
    app_base = f"http://127.0.0.1:{args.app_port}"
    hello_base = f"http://127.0.0.1:{args.hello_port}"
    cookie = login_cookie(app_base)
    member_cookie = login_cookie(app_base, MEMBER_LOGIN)
    event = PAGE_EVENT.read_text().strip()
    targets = {
        "hello": (hello_base + "/", (), hello.pid),
        "home /": (app_base + "/", (), app.pid),
        "login /auth/login": (app_base + "/auth/login", (), app.pid),
        "home / (logged in)": (app_base + "/", (f"Cookie: {cookie}",), app.pid),
        "events list": (app_base + "/events/", (), app.pid),
        "event page": (app_base + event, (), app.pid),
        "/account (member)": (app_base + "/account", (f"Cookie: {member_cookie}",), app.pid),
    }
    for name, (url, headers, _master) in targets.items():  # warm-up: imports, template cache, pools
        log(f"warm-up {name}")
        wrk(url, 3, args.connections, args.threads, headers)

    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for round_no in range(1, args.rounds + 1):
        for name, (url, headers, master) in targets.items():
            cpu_before = cpu_seconds(master)
            result = wrk(url, args.duration, args.connections, args.threads, headers)
            # Server CPU per request: unlike req/s, barely moved by others' work on the machine.
            result["cpu_ms"] = (cpu_seconds(master) - cpu_before) * 1000 / result["requests"]
            runs[name].append(result)
            log(
                f"round {round_no} {name}: {result['rps']:.0f} req/s, p99 {result['p99']:.1f} ms,"
                f" worker CPU {result['cpu_ms']:.2f} ms/request, non-2xx {result['non2xx']},"
                f" socket errors {result['errors']}"
            )
    loaded_workers = {pid: memory_of(pid) for pid in worker_pids(app.pid)}
    load_during = os.getloadavg()
    for proc in list(servers):
        stop_server(proc)

    log("memory run: one fresh worker, 1,000 requests")
    memory = memory_run(args.memory_port)
    log("memory run: the stack floor (bench/stack_floor_app.py), 1,000 requests")
    floor = floor_memory_run(args.memory_port)

    best = {name: median_run(results) for name, results in runs.items()}
    hello_rps = best["hello"]["rps"]
    lines = [
        f"Félag foundation benchmark — {started:%Y-%m-%d %H:%M} UTC",
        f"gunicorn 2 sync workers (bench/gunicorn.conf.py), PostgreSQL {DB_NAME}, Redis db 14",
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
        f"{args.rounds} interleaved round(s), median round shown; {os.cpu_count()} CPUs, "
        f"load average before {load_before[0]:.2f}, after load {load_during[0]:.2f}",
        "; ".join(notes) or "database reused (--skip-db)",
        "CPU ms/req: user+system CPU of the server's workers per request (lowest round)",
        "",
        f"{'target':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'% hello':>9}"
        f"{'CPU ms/req':>12}{'non-2xx':>9}{'rounds (req/s)':>22}",
    ]
    for name, result in best.items():
        share = result["rps"] / hello_rps * 100
        all_rounds = " / ".join(f"{r['rps']:.0f}" for r in runs[name])
        bad = sum(r["non2xx"] + r["errors"] for r in runs[name])
        lines.append(
            f"{name:<22}{result['rps']:>9.0f}{result['p50']:>9.1f}{result['p99']:>9.1f}"
            f"{share:>8.0f}%{min(r['cpu_ms'] for r in runs[name]):>12.2f}{bad:>9}{all_rounds:>22}"
        )
    ratio = best["home /"]["rps"] / hello_rps
    cpu_ratio = min(r["cpu_ms"] for r in runs["hello"]) / min(r["cpu_ms"] for r in runs["home /"])
    boot, after, master = memory["boot"], memory["after"], memory["master"]
    lines += [
        "",
        f"home / hello = {ratio:.0%} (target >= {TARGET_RATIO:.0%}): "
        + ("MET" if ratio >= TARGET_RATIO else "NOT MET")
        + "; round by round: "
        + " / ".join(
            f"{home['rps'] / hello['rps']:.0%}"
            for home, hello in zip(runs["home /"], runs["hello"], strict=True)
        ),
        f"by worker CPU per request (lowest round; less sensitive to a busy machine): "
        f"hello / home = {cpu_ratio:.0%}",
        "pages, worker CPU per request (lowest round; target < "
        f"{TARGET_PAGE_CPU_MS} ms): "
        + ", ".join(
            f"{name} {min(r['cpu_ms'] for r in runs[name]):.2f} ms"
            for name in ("events list", "event page", "/account (member)")
        ),
        f"worker memory after {memory['served']} requests (one fresh worker; /, /auth/login, "
        f"events list and page anonymous; /, /account, /staff/ as the admin; /account, events list"
        f" and page as a member; statuses {memory['statuses']}):",
        f"  VmRSS {after['VmRSS']:.1f} MB (anon {after['RssAnon']:.1f}, file"
        f" {after['RssFile']:.1f}; after boot {boot['VmRSS']:.1f} MB), VmHWM {after['VmHWM']:.1f}"
        f" MB, Pss {after.get('Pss', 0):.1f} MB (target < {TARGET_RSS_MB} MB): "
        + ("MET" if after["VmRSS"] < TARGET_RSS_MB else "NOT MET"),
        f"  the stack floor (bench/stack_floor_app.py, same run, statuses {floor['statuses']}):"
        f" VmRSS {floor['after']['VmRSS']:.1f} MB (anon {floor['after']['RssAnon']:.1f}, file"
        f" {floor['after']['RssFile']:.1f}; after boot {floor['boot']['VmRSS']:.1f} MB), Pss"
        f" {floor['after'].get('Pss', 0):.1f} MB; Félag = floor +"
        f" {after['VmRSS'] - floor['after']['VmRSS']:.1f} MB",
        f"  master: VmRSS {master['VmRSS']:.1f} MB, Pss {master.get('Pss', 0):.1f} MB"
        f" (preload_app {'on' if os.environ.get('BENCH_PRELOAD', '1') == '1' else 'off'})",
        "  after the wrk rounds (tens of thousands of requests): "
        + ", ".join(f"worker {pid} VmRSS {m['VmRSS']:.1f} MB" for pid, m in loaded_workers.items()),
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "foundation.txt").write_text(text)
    print("\n" + text)
    return 0


def cleanup(*_args) -> None:
    for proc in list(servers):
        try:
            stop_server(proc)
        except Exception:  # noqa: BLE001 (best effort on the way out)
            proc.kill()


def on_deadline(*_args) -> None:
    cleanup()
    raise SystemExit(f"deadline of {DEADLINE_SECONDS} s reached; servers stopped")


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, on_deadline)
    signal.signal(signal.SIGTERM, on_deadline)
    signal.alarm(DEADLINE_SECONDS)
    try:
        sys.exit(main())
    finally:
        cleanup()
