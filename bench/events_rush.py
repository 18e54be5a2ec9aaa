"""Registration rush: 1,000 members register at the same moment for a 100-seat event.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/events_rush.py                 # 3 rounds, 1,000 people, 100 seats
    .venv/bin/python bench/events_rush.py --rounds 1 --people 500 --seats 50

Steps: (1) a fresh database felag_bench_events (create_all) and a free Redis db; (2) 1,000
verified members and, per round, a new published event with 100 seats and the waiting list on;
(3) each member gets a signed session cookie and CSRF token (see events_common.signed_sessions);
(4) gunicorn serves wsgi:app with bench/gunicorn.conf.py (2 sync workers); (5) 1,000 threads,
released together by a barrier, each POST /events/<id>/register once; (6) the database is read:
confirmed must equal the seats (0 oversold), everyone else on the waiting list, no 5xx.
Figures go to stdout and bench/results/events_rush.txt. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import events_common as common
import requests


def one_round(app, base_url: str, people: list[int], seats: int, round_no: int) -> dict:
    from sqlalchemy import func, select

    from app.events.models import Event, Registration
    from app.extensions import db

    event_id = common.make_event(app, seats, title=f"Rush round {round_no}")
    sessions = common.signed_sessions(app, people)
    url = f"{base_url}/events/{event_id}/register"
    barrier = threading.Barrier(len(sessions) + 1)
    results: list[tuple[int, float]] = [(0, 0.0)] * len(sessions)
    start_at = [0.0]

    def register(index: int) -> None:
        cookie, token = sessions[index]
        http = requests.Session()
        http.cookies.set("session", cookie)
        barrier.wait()
        began = time.perf_counter()
        try:
            response = http.post(
                url,
                data={"csrf_token": token, "accept_terms": "y"},
                allow_redirects=False,
                timeout=120,
            )
            status = response.status_code
        except requests.RequestException:
            status = -1
        results[index] = (status, time.perf_counter() - began)

    threading.stack_size(512 * 1024)
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        futures = [pool.submit(register, i) for i in range(len(sessions))]
        time.sleep(1.0)  # let every thread reach the barrier
        start_at[0] = time.perf_counter()
        barrier.wait()
        for future in futures:
            future.result()
    wall = max(began_latency for _status, began_latency in results)
    statuses = [status for status, _ in results]
    latencies = [latency for _, latency in results]

    with app.app_context():
        counts = dict(
            db.session.execute(
                select(Registration.state, func.count(Registration.id))
                .where(Registration.event_id == event_id)
                .group_by(Registration.state)
            ).all()
        )
        counter = db.session.get(Event, event_id).confirmed_count
    confirmed = counts.get("confirmed", 0)
    return {
        "round": round_no,
        "requests": len(statuses),
        "ok_303": statuses.count(303),
        "server_errors": sum(1 for s in statuses if s >= 500 or s < 0),
        "other": sum(1 for s in statuses if s not in (303,) and 0 <= s < 500),
        "confirmed": confirmed,
        "waiting": counts.get("waiting", 0),
        "counter": counter,
        "oversold": max(0, confirmed - seats) + max(0, counter - seats),
        "wall_s": wall,
        "per_s": len(statuses) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": common.percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gthread workers with this many threads each (default: sync)",
    )
    args = parser.parse_args()

    redis_db = common.claim_redis_db()
    port = common.free_port()
    try:
        database_url = common.fresh_database("felag_bench_events")
        env = common.app_env(
            database_url, redis_db, BENCH_BIND=f"127.0.0.1:{port}", BENCH_WORKERS=str(args.workers)
        )
        common.log(f"database felag_bench_events, Redis db {redis_db}, port {port}")
        app = common.load_app(env)
        people = common.make_members(app, args.people)
        common.log(f"{len(people)} members made")
        threads = []
        if args.threads:
            threads = ["--worker-class", "gthread", "--threads", str(args.threads)]
        server = common.start(
            [
                str(common.VENV_BIN / "gunicorn"),
                "-c",
                "bench/gunicorn.conf.py",
                *threads,
                "wsgi:app",
            ],
            env,
            common.RESULTS / "gunicorn-events-rush.log",
        )
        base_url = f"http://127.0.0.1:{port}"
        common.wait_for_http(base_url + "/events/")
        rounds = []
        for n in range(1, args.rounds + 1):
            result = one_round(app, base_url, people, args.seats, n)
            common.log(
                "round {round}: {per_s:.0f} registrations/s, p50 {p50_ms:.0f} ms, p99 "
                "{p99_ms:.0f} ms, confirmed {confirmed}, waiting {waiting}, oversold "
                "{oversold}, 5xx {server_errors}".format(**result)
            )
            rounds.append(result)
        common.stop(server)
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)

    median = sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]
    lines = [
        f"# Registration rush — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"{args.people} members register at once for {args.seats} seats; gunicorn "
        f"{args.workers} "
        + (f"gthread workers x {args.threads} threads" if args.threads else "sync workers")
        + ", PostgreSQL, Redis; 2-core machine (the client runs on it too).",
        "",
        "| round | registrations/s | p50 ms | p99 ms | max ms | confirmed | waiting | "
        "oversold | 5xx | other |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        lines.append(
            "| {round} | {per_s:.0f} | {p50_ms:.0f} | {p99_ms:.0f} | {max_ms:.0f} | {confirmed} "
            "| {waiting} | {oversold} | {server_errors} | {other} |".format(**r)
        )
    lines += [
        "",
        "Median round: {per_s:.0f} registrations/s, p50 {p50_ms:.0f} ms, "
        "p99 {p99_ms:.0f} ms.".format(**median),
        "Targets: 0 oversold, 0 server errors, >= 100 registrations/s.",
        "PASS"
        if all(r["oversold"] == 0 and r["server_errors"] == 0 for r in rounds)
        and median["per_s"] >= 100
        else "FAIL",
    ]
    text = "\n".join(lines) + "\n"
    suffix = f"-gthread{args.threads}" if args.threads else ""
    (common.RESULTS / f"events_rush{suffix}.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
