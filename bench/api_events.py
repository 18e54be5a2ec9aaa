"""Events list throughput: 20 app clients read GET /api/v1/events as fast as they can.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/api_events.py                  # 3 rounds of 20 s, 20 clients
    .venv/bin/python bench/api_events.py --clients 40 --events 200 --limit 20

Steps: (1) a fresh database felag_bench_api_events (create_all) and a free Redis db; (2) one
verified user and one API token per client, and --events published upcoming events (half with a
capacity and some confirmed seats, a few drafts and past events that the list leaves out);
(3) gunicorn serves wsgi:app with bench/gunicorn.conf.py (2 sync workers by default; the API
rate limit raised so that it does not throttle); (4) per round, every client loops
GET /api/v1/events?limit=N with its own token (the token check, a count and a page query, each
event dumped through the response schema); (5) every answer is checked: 200 and the whole
page. Figures go to stdout and bench/results/api_events.txt. Everything stops by itself.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import events_common as common
import requests


def make_events(app, count: int) -> None:
    """count upcoming published events, plus drafts and past ones the list must leave out."""
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.events.models import Event
    from app.events.tickets import new_key_pair
    from app.extensions import db

    now = utcnow()
    with app.app_context():
        private, public = new_key_pair()  # one key for all: the list never reads it
        for n in range(count + 10):
            listed = n < count
            starts = now + timedelta(days=1 + n % 60, hours=n % 24) if listed else now
            if listed is False and n % 2:
                starts = now - timedelta(days=30)
            capacity = 40 + n if n % 2 else None
            db.session.add(
                Event(
                    title=f"Bench event {n}",
                    slug=f"bench-event-{n}",
                    summary="An evening of talks and board games. " * 3,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=3),
                    venue_name="Folkets Hus",
                    street="Stengade 50",
                    postal_code="2200",
                    city="København",
                    capacity=capacity,
                    confirmed_count=(n * 7) % 40 if capacity else 0,
                    status="published" if listed or n % 2 else "draft",
                    published_at=now,
                    signing_key_encrypted=private,
                    public_key=public,
                )
            )
        db.session.commit()


def make_tokens(app, user_ids: list[int]) -> list[str]:
    from app.api.services import create_token
    from app.auth.models import User
    from app.extensions import db

    with app.app_context():
        keys = [create_token(db.session.get(User, uid), "bench")[1] for uid in user_ids]
        db.session.commit()
    return keys


def one_round(base_url: str, keys: list[str], seconds: float, limit: int, expect: int) -> dict:
    """Every client reads the list in a loop for `seconds`; returns throughput and latencies."""
    sessions = [requests.Session() for _ in keys]
    for http, key in zip(sessions, keys, strict=True):
        http.headers["Authorization"] = f"Token {key}"
    url = f"{base_url}/api/v1/events?limit={limit}"
    short_pages = [0]

    def read(index: int) -> int:
        try:
            answer = sessions[index].get(url, timeout=60)
        except requests.RequestException:
            return -1
        if answer.status_code == 200 and len(answer.json()["results"]) != expect:
            short_pages[0] += 1
        return answer.status_code

    result = common.timed_clients(len(keys), seconds, read)
    result["requests"] = result["ok"]
    result["short_pages"] = short_pages[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    redis_db = common.claim_redis_db()
    port = common.free_port()
    rounds = []
    expect = min(args.events, args.limit)
    try:
        database_url = common.fresh_database("felag_bench_api_events")
        env = common.app_env(
            database_url,
            redis_db,
            BENCH_BIND=f"127.0.0.1:{port}",
            BENCH_WORKERS=str(args.workers),
            API_RATE_LIMIT="1000000 per minute",
        )
        common.log(f"database felag_bench_api_events, Redis db {redis_db}, port {port}")
        app = common.load_app(env)
        keys = make_tokens(app, common.make_members(app, args.clients, prefix="reader"))
        make_events(app, args.events)
        server = common.start(
            [str(common.VENV_BIN / "gunicorn"), "-c", "bench/gunicorn.conf.py", "wsgi:app"],
            env,
            common.RESULTS / "gunicorn-api-events.log",
        )
        base_url = f"http://127.0.0.1:{port}"
        common.wait_for_http(base_url + "/health")
        for n in range(1, args.rounds + 1):
            result = one_round(base_url, keys, args.seconds, args.limit, expect)
            common.log(
                "round {n}: {per_s:.0f} lists/s, p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms, "
                "statuses {statuses}, short pages {short_pages}, "
                "load {load_before:.1f} -> {load_after:.1f}".format(n=n, **result)
            )
            rounds.append(result)
        common.stop(server)
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)

    median = sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]
    lines = [
        f"# Events list — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"{args.clients} clients, GET /api/v1/events?limit={args.limit} ({expect} events a "
        f"page), gunicorn {args.workers} sync workers, {args.rounds} rounds of "
        f"{args.seconds:.0f} s on PostgreSQL",
        *(
            f"round {n}: {r['per_s']:.0f}/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms "
            f"statuses {r['statuses']} short pages {r['short_pages']} "
            f"load {r['load_before']:.1f}->{r['load_after']:.1f}"
            for n, r in enumerate(rounds, 1)
        ),
        f"median: {median['per_s']:.0f} lists/s, p50 {median['p50_ms']:.1f} ms, "
        f"p99 {median['p99_ms']:.1f} ms",
    ]
    text = "\n".join(lines) + "\n"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "api_events.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
