"""Polls over HTTP: 1,000 voters cast their ballots through gunicorn on PostgreSQL.

Run from the repository root (PostgreSQL and Redis on their local defaults):

    .venv/bin/python bench/polls_http.py                     # 1,000 voters, 3 rounds
    .venv/bin/python bench/polls_http.py --voters 300 --rounds 1

Steps: (1) drop and create the database felag_bench_polls, build the schema (create_all), add
--voters verified users, each with an API token of their own (inserted in bulk; a voter's token
is what a voting app holds), and one secret poll of every verified user with a one-choice
question (4 options) and a ranked question (8 candidates, 3 seats), opened through the same
freeze_electorate the staff button uses; (2) serve wsgi:app with gunicorn and
bench/gunicorn.conf.py (2 sync workers); (3) per round, the ballots, mixing and participations
are emptied and every voter sends POST /api/v1/polls/<id>/ballots twice at the same moment (two
client threads released together: a double click, or an app retrying), from --clients threads
in all; each voter must get exactly one 201 with a receipt and one 409 already_voted; (4) the
database is checked: as many ballots as participations as voters, no person with two
participations, every ballot with both answers, and the tally's first preferences add up to the
ballots. Before each round it waits (at most --quiet-wait s) for the load average to drop below
--quiet-load, since other people's work shares the cores. Throughput (ballots accepted per second
and requests per second), p50/p90/p99/max of the answers (client send to answer, queueing in
gunicorn included), the CPU time per request of the two workers and of the PostgreSQL backends
(read from /proc: much less disturbed by a busy machine than the rates), the load average, and
the median round (by throughput) go to stdout and bench/results/polls_http.txt.

API_RATE_LIMIT is raised: here every voter comes from 127.0.0.1, and the limit counts per
address until a token is verified (each voter's first request), which in real use is one
address per voter. Everything runs under a deadline and the server is always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkin import (  # noqa: E402  (the shared start-up pattern of the check-in benchmark)
    ROOT,
    claim_redis_db,
    cpu_seconds,
    free_port,
    log,
    release_redis_db,
    start_server,
    stop_servers,
    worker_pids,
)

RESULTS = ROOT / "bench" / "results"
DB_NAME = "felag_bench_polls"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
DEADLINE_SECONDS = 1200
TARGET_SECONDS = 60.0


def app_env(redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("S3_BUCKET", "MAIL_SERVER", "FLASK_DEBUG"):
        env.pop(key, None)
    env.update(
        FLASK_APP="wsgi",
        FELAG_ENV="development",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        SECRET_KEY="bench-polls-secret-key-that-is-long-enough-0123456789abcdef",
        API_RATE_LIMIT="100000000 per minute",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _engine():
    import sqlalchemy as sa

    return sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))


def fresh_database() -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()


def seed(env: dict[str, str], voters: int) -> dict:
    """The schema, voters with tokens, and one open secret poll of every verified user."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.api.models import PREFIX_LENGTH, ApiToken, hash_key
    from app.auth.models import User
    from app.auth.passwords import hash_password
    from app.core.timeutil import utcnow
    from app.extensions import db
    from app.polls import setup
    from app.polls.electorate import freeze_electorate

    app = create_app()
    with app.app_context():
        db.create_all()
        now = utcnow()
        password = hash_password("bench-password-0123456789")  # one hash: nobody logs in here
        db.session.execute(
            User.__table__.insert(),
            [
                {
                    "email": f"voter{n}@bench.local",
                    "name": f"Voter {n}",
                    "password_hash": password,
                    "locale": ("da", "is", "en")[n % 3],
                    "email_verified_at": now,
                    "created_at": now,
                    "session_version": 1,
                    "is_active_account": True,
                }
                for n in range(voters)
            ],
        )
        ids = db.session.scalars(db.select(User.id).order_by(User.id)).all()
        keys = [ApiToken.generate() for _ in ids]
        db.session.execute(
            ApiToken.__table__.insert(),
            [
                {
                    "user_id": user_id,
                    "name": "voting app",
                    "prefix": key[:PREFIX_LENGTH],
                    "key_hash": hash_key(key),
                    "created_at": now,
                }
                for user_id, key in zip(ids, keys, strict=True)
            ],
        )
        poll = setup.create_poll(
            setup.PollFields(
                title="Bench election",
                secret=True,
                electorate_kind="users",
                closes_at=now.replace(microsecond=0) + timedelta(days=1),
            ),
            [
                setup.QuestionFields("Chair", "single", options=["Ada", "Bo", "Cy", "Dag"]),
                setup.QuestionFields(
                    "Board", "ranked", seats=3, options=[f"Candidate {c}" for c in "ABCDEFGH"]
                ),
            ],
        )
        # Opened as the staff button opens it, without the 1,000 opening e-mails.
        poll.status, poll.opened_at, poll.opens_at = "open", now, now
        size = freeze_electorate(poll)
        db.session.commit()
        questions = [
            {"id": q.id, "options": [o.id for o in q.options], "kind": q.kind}
            for q in poll.questions
        ]
        info = {"poll_id": poll.id, "size": size, "keys": keys, "questions": questions}
    with app.app_context():
        db.engine.dispose()
    return info


def reset(redis_db: int, poll_id: int) -> None:
    """No ballots and no participations; an empty limiter and token cache."""
    import redis
    import sqlalchemy as sa

    engine = _engine()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM poll_ballots WHERE poll_id = :p"), {"p": poll_id})
        conn.execute(sa.text("DELETE FROM poll_participations WHERE poll_id = :p"), {"p": poll_id})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("poll_ballots", "poll_ballot_choices", "poll_participations"):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    engine.dispose()
    redis.Redis(host="127.0.0.1", db=redis_db).flushdb()


def backend_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench database."""
    import sqlalchemy as sa

    engine = _engine()
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": DB_NAME},
        ).scalars()
        found = {pid: cpu_seconds([pid]) for pid in pids}
    engine.dispose()
    return found


def wait_for_quiet(load: float, seconds: int) -> None:
    """Wait (at most `seconds`) for the 1-minute load average to drop below `load`."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= load and time.monotonic() < deadline:
        time.sleep(5)


def answers_for(rng: random.Random, questions: list[dict]) -> dict:
    single, ranked = questions
    order = list(ranked["options"])
    rng.shuffle(order)
    return {
        str(single["id"]): [rng.choice(single["options"])],
        str(ranked["id"]): order[: rng.randint(1, len(order))],
    }


def run_round(base: str, info: dict, clients: int, label: str) -> dict:
    """Every voter sends the same ballot twice at once; returns the figures of the round."""
    import http.client
    import queue

    host, port = base.removeprefix("http://").split(":")
    path = f"/api/v1/polls/{info['poll_id']}/ballots"
    rng = random.Random(label)
    work: queue.Queue = queue.Queue()
    for key in info["keys"]:
        work.put((key, json.dumps({"answers": answers_for(rng, info["questions"])})))
    pairs = max(clients // 2, 1)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    per_voter: dict[str, list[int]] = {}
    lock = threading.Lock()

    def send(key: str, body: str, gate: threading.Barrier) -> None:
        gate.wait()
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/json", "Authorization": f"Token {key}"},
            )
            response = conn.getresponse()
            answer = json.loads(response.read() or b"{}")
            status = response.status
        except OSError as exc:
            status, answer = 0, {"error": {"code": type(exc).__name__}}
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        if status == 201 and len(answer.get("receipt", "")) >= 16:
            outcome = "201 receipt"
        else:
            outcome = f"{status} {answer.get('error', {}).get('code', '?')}"
        with lock:
            latencies.append(elapsed)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            per_voter.setdefault(key, []).append(status)

    def voter_pair() -> None:
        while True:
            try:
                key, body = work.get_nowait()
            except queue.Empty:
                return
            gate = threading.Barrier(2)
            twin = threading.Thread(target=send, args=(key, body, gate))
            twin.start()
            send(key, body, gate)
            twin.join()

    started = time.perf_counter()
    threads = [threading.Thread(target=voter_pair) for _ in range(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    accepted = outcomes.get("201 receipt", 0)
    wrong = sum(1 for statuses in per_voter.values() if sorted(statuses) != [201, 409])
    return {
        "wall": wall,
        "requests": len(latencies),
        "accepted": accepted,
        "ballots_per_s": accepted / wall,
        "requests_per_s": len(latencies) / wall,
        "p50": statistics.median(ordered),
        "p90": pct(90),
        "p99": pct(99),
        "max": ordered[-1],
        "outcomes": outcomes,
        "voters_not_one_201_one_409": wrong,
    }


def database_check(poll_id: int, voters: int) -> list[str]:
    """Problems found in the database after a round (none: exactly one ballot per voter)."""
    import sqlalchemy as sa

    engine = _engine()
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return conn.execute(sa.text(sql), {"p": poll_id}).scalar_one()

        ballots = one("SELECT count(*) FROM poll_ballots WHERE poll_id = :p")
        participations = one("SELECT count(*) FROM poll_participations WHERE poll_id = :p")
        doubled = one(
            "SELECT count(*) FROM (SELECT user_id FROM poll_participations WHERE poll_id = :p "
            "GROUP BY user_id HAVING count(*) > 1) AS d"
        )
        linked = one("SELECT count(*) FROM poll_ballots WHERE poll_id = :p AND user_id IS NOT NULL")
        incomplete = one(
            "SELECT count(*) FROM poll_ballots b WHERE b.poll_id = :p AND (SELECT count("
            "DISTINCT question_id) FROM poll_ballot_choices c WHERE c.ballot_id = b.id) <> 2"
        )
    engine.dispose()
    problems = []
    if not ballots == participations == voters:
        problems.append(f"{ballots} ballots, {participations} participations, {voters} voters")
    if doubled:
        problems.append(f"{doubled} people with two participations")
    if linked:
        problems.append(f"{linked} secret ballots carry a user id")
    if incomplete:
        problems.append(f"{incomplete} ballots without both answers")
    return problems


def tally_check(env: dict[str, str], poll_id: int, voters: int) -> list[str]:
    """The tally from the ballots: the first preferences add up to the ballots cast."""
    from app import create_app
    from app.extensions import db
    from app.polls.models import Poll
    from app.polls.tally import poll_results

    app = create_app()
    with app.app_context():
        results = poll_results(db.session.get(Poll, poll_id))
        db.engine.dispose()
    problems = []
    for question in results["questions"]:
        total = sum(o["votes"] for o in question["options"]) + question["blank"]
        if total != voters:
            problems.append(f"question {question['id']}: {total} votes + blank for {voters}")
    if results["voted"] != voters:
        problems.append(f"tally says {results['voted']} voted")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8, help="client threads in all")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=4.0,
        help="before each round, wait for the 1-minute load average to drop below this",
    )
    parser.add_argument("--quiet-wait", type=int, default=120, help="but at most this long (s)")
    args = parser.parse_args()
    started = time.monotonic()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("deadline")))
    signal.alarm(DEADLINE_SECONDS)

    redis_db = claim_redis_db()
    env = app_env(redis_db)
    load_before = os.getloadavg()
    rounds: list[dict] = []
    try:
        log(f"database {DB_NAME}, Redis db {redis_db}, {args.voters} voters")
        fresh_database()
        info = seed(env, args.voters)
        log(f"seeded in {time.monotonic() - started:.0f} s; electorate {info['size']}")
        port = free_port()
        server = start_server("polls", "wsgi:app", port, env)
        base = f"http://127.0.0.1:{port}"
        for number in range(args.rounds):
            reset(redis_db, info["poll_id"])
            wait_for_quiet(args.quiet_load, args.quiet_wait)
            load_at_start = os.getloadavg()[0]
            workers = worker_pids(server.pid)
            cpu_before, db_before = cpu_seconds(workers), backend_cpu()
            figures = run_round(base, info, args.clients, f"r{number}")
            db_after = backend_cpu()
            figures["load"] = (load_at_start, os.getloadavg()[0])
            figures["worker_cpu_ms"] = (
                (cpu_seconds(workers) - cpu_before) / figures["requests"] * 1000
            )
            figures["db_cpu_ms"] = (
                sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
                / figures["requests"]
                * 1000
            )
            figures["problems"] = database_check(info["poll_id"], args.voters)
            figures["problems"] += tally_check(env, info["poll_id"], args.voters)
            if figures["voters_not_one_201_one_409"]:
                figures["problems"].append(
                    f"{figures['voters_not_one_201_one_409']} voters without one 201 and one 409"
                )
            rounds.append(figures)
            log(
                f"round {number}: {args.voters} voters in {figures['wall']:.1f} s, "
                f"{figures['ballots_per_s']:.0f} ballots/s ({figures['requests_per_s']:.0f} "
                f"req/s), p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
                f"max {figures['max']:.0f} ms; CPU per request: workers "
                f"{figures['worker_cpu_ms']:.1f} ms + PostgreSQL {figures['db_cpu_ms']:.1f} ms; "
                f"load {figures['load'][0]:.1f} -> {figures['load'][1]:.1f}; {figures['outcomes']}"
                + (f"; PROBLEMS: {figures['problems']}" if figures["problems"] else "")
            )
    finally:
        stop_servers()
        release_redis_db(redis_db)

    load = os.getloadavg()
    chosen = sorted(rounds, key=lambda r: r["ballots_per_s"])[len(rounds) // 2]
    problems = sorted({p for r in rounds for p in r["problems"]})
    met = all(r["wall"] < TARGET_SECONDS for r in rounds) and not problems
    lines = [
        f"Polls over HTTP, {datetime.now():%Y-%m-%d %H:%M}: gunicorn (2 sync workers, "
        f"bench/gunicorn.conf.py) on PostgreSQL; {args.voters} voters, each with their own "
        f"token, each sending the same ballot twice at the same moment ({args.clients} client "
        f"threads); a secret poll with a one-choice and a ranked question; {args.rounds} rounds, "
        "the median round (by ballots/s) shown.",
        f"Machine: {os.cpu_count()} cores shared by the server, PostgreSQL, Redis and the load "
        f"generator (and other people's work); load average {load_before[0]:.1f} before, "
        f"{load[0]:.1f} after.",
        "",
        f"{'round':>5} {'seconds':>7} {'ballots/s':>9} {'req/s':>6} | {'p50':>6} {'p90':>6} "
        f"{'p99':>6} {'max':>6} (ms) | {'CPU/req workers + db':>20} (ms) | {'load':>11} | "
        "answers",
    ]
    for number, r in enumerate(rounds):
        lines.append(
            f"{number:>5} {r['wall']:>7.1f} {r['ballots_per_s']:>9.0f} {r['requests_per_s']:>6.0f}"
            f" | {r['p50']:>6.1f} {r['p90']:>6.1f} {r['p99']:>6.1f} {r['max']:>6.0f} | "
            f"{r['worker_cpu_ms']:>9.1f} + {r['db_cpu_ms']:>8.1f} | "
            f"{r['load'][0]:>4.1f} -> {r['load'][1]:>4.1f} | "
            + ", ".join(f"{k}: {v}" for k, v in sorted(r["outcomes"].items()))
        )
    lines += [
        "",
        f"Median round: {args.voters} ballots in {chosen['wall']:.1f} s (target < "
        f"{TARGET_SECONDS:.0f} s): {chosen['ballots_per_s']:.0f} ballots/s, "
        f"{chosen['requests_per_s']:.0f} requests/s, p99 {chosen['p99']:.1f} ms: "
        + ("met" if met else "NOT met"),
        f"CPU per request (the two workers + the PostgreSQL backends): "
        f"{chosen['worker_cpu_ms']:.1f} + {chosen['db_cpu_ms']:.1f} ms, so the 2 cores alone "
        f"would carry about {2000 / (chosen['worker_cpu_ms'] + chosen['db_cpu_ms']):.0f} "
        "requests/s (half of them ballots); the figures above are what the shared machine gave.",
        "Checks: "
        + (
            "; ".join(problems)
            if problems
            else "every voter got one 201 with a receipt and one 409 already_voted; the "
            "database holds exactly one ballot and one participation per voter, no person "
            "twice, no secret ballot with a user id, every ballot complete; the tally's votes "
            "add up to the ballots (zero double votes)."
        ),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "polls_http.txt").write_text(text + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; written to bench/results/polls_http.txt")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
