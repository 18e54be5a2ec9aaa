"""Token refresh throughput: 20 app clients rotate their refresh tokens as fast as they can.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/api_refresh.py                  # 3 rounds of 20 s, 20 clients
    .venv/bin/python bench/api_refresh.py --clients 40 --seconds 10 --workers 4

Steps: (1) a fresh database felag_bench_api_refresh (create_all) and a free Redis db; (2) one
verified user per client; (3) gunicorn serves wsgi:app with bench/gunicorn.conf.py (2 sync
workers by default; the app-token rate limit raised so that it does not throttle); (4) each
client signs in once through POST /api/v1/auth/token, then, per round, every client loops
POST /api/v1/auth/refresh with the refresh token it got last (each refresh is a conditional
UPDATE of the old token, an INSERT of the new one and a JWT signature, in one transaction);
(5) the database is checked: every refresh that answered 200 used up exactly one token, no
family was revoked (a client never reuses a token), no 5xx. Figures go to stdout and
bench/results/api_refresh.txt. Everything stops by itself.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import events_common as common
import requests

PASSWORD = "bench-password-not-used"  # events_common.make_members gives every member this one


def sign_in(base_url: str, email: str) -> str:
    answer = requests.post(
        f"{base_url}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=60
    )
    answer.raise_for_status()
    return answer.json()["refresh_token"]


def one_round(base_url: str, tokens: list[str], seconds: float) -> dict:
    """Every client refreshes in a loop for `seconds`; returns throughput and latencies."""
    sessions = [requests.Session() for _ in tokens]
    url = f"{base_url}/api/v1/auth/refresh"

    stopped: set[int] = set()

    def refresh(index: int) -> int | None:
        if index in stopped:
            return None  # its last refresh failed: the token is gone (should not happen)
        try:
            answer = sessions[index].post(url, json={"refresh_token": tokens[index]}, timeout=60)
        except requests.RequestException:
            stopped.add(index)
            return -1
        if answer.status_code == 200:
            tokens[index] = answer.json()["refresh_token"]
        else:
            stopped.add(index)
        return answer.status_code

    result = common.timed_clients(len(tokens), seconds, refresh)
    result["refreshes"] = result["ok"]
    return result


def check_database(app, sign_ins: int, refreshes: int) -> dict:
    """Rows written: one per sign-in and per refresh; used ones = refreshes; none revoked."""
    from sqlalchemy import func, select

    from app.api.models import RefreshToken
    from app.extensions import db

    with app.app_context():
        total = db.session.scalar(select(func.count(RefreshToken.id)))
        used = db.session.scalar(
            select(func.count(RefreshToken.id)).where(RefreshToken.used_at.is_not(None))
        )
        revoked = db.session.scalar(
            select(func.count(RefreshToken.id)).where(RefreshToken.revoked_at.is_not(None))
        )
    return {
        "rows_ok": total == sign_ins + refreshes and used == refreshes,
        "total": total,
        "used": used,
        "revoked": revoked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    redis_db = common.claim_redis_db()
    port = common.free_port()
    rounds = []
    try:
        database_url = common.fresh_database("felag_bench_api_refresh")
        env = common.app_env(
            database_url,
            redis_db,
            BENCH_BIND=f"127.0.0.1:{port}",
            BENCH_WORKERS=str(args.workers),
            APP_TOKEN_RATE_LIMIT="1000000 per minute",
        )
        common.log(f"database felag_bench_api_refresh, Redis db {redis_db}, port {port}")
        app = common.load_app(env)
        common.make_members(app, args.clients, prefix="app")
        server = common.start(
            [str(common.VENV_BIN / "gunicorn"), "-c", "bench/gunicorn.conf.py", "wsgi:app"],
            env,
            common.RESULTS / "gunicorn-api-refresh.log",
        )
        base_url = f"http://127.0.0.1:{port}"
        common.wait_for_http(base_url + "/health")
        tokens = [sign_in(base_url, f"app{n:05d}@bench.local") for n in range(args.clients)]
        common.log(f"{len(tokens)} clients signed in")
        done = 0
        for n in range(1, args.rounds + 1):
            result = one_round(base_url, tokens, args.seconds)
            done += result["refreshes"]
            common.log(
                "round {n}: {per_s:.0f} refreshes/s, p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms, "
                "statuses {statuses}, load {load_before:.1f} -> {load_after:.1f}".format(
                    n=n, **result
                )
            )
            rounds.append(result)
        rows = check_database(app, args.clients, done)
        common.log(f"database: {rows}")
        common.stop(server)
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)

    median = sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]
    lines = [
        f"# Token refresh — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"{args.clients} clients, gunicorn {args.workers} sync workers, {args.rounds} rounds of "
        f"{args.seconds:.0f} s on PostgreSQL",
        *(
            f"round {n}: {r['per_s']:.0f}/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms "
            f"statuses {r['statuses']} load {r['load_before']:.1f}->{r['load_after']:.1f}"
            for n, r in enumerate(rounds, 1)
        ),
        f"median: {median['per_s']:.0f} refreshes/s, p50 {median['p50_ms']:.1f} ms, "
        f"p99 {median['p99_ms']:.1f} ms",
        f"database: {rows}",
    ]
    text = "\n".join(lines) + "\n"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "api_refresh.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
