"""What one door check-in costs in this process: Redis round trips, SQL statements, Python
function calls (cProfile) and CPU, per `POST /api/v1/checkin` (issue 13).

The app runs in this process on a fresh PostgreSQL database with Redis, configured as
bench/checkin.py serves it (API token cache on, the scan limit raised but still counted in Redis);
a door volunteer's token checks in N different valid tickets of one event through the real route,
then the bare check-in of bench/checkin_bare_app.py checks in N more, measured alike.
Function calls inside the WSGI call are the deterministic measure (they do not move with what
else the machine does); the CPU, taken without the profiler, is noisy. Redis round trips are the
packets the redis client sends (a pipeline is one); SQL statements are what the engine sends
through a cursor (besides them, every request has pool_pre_ping's `SELECT 1` at checkout and the
transaction's BEGIN and COMMIT, app and bare alike).

    .venv/bin/python bench/checkin_calls.py [--tickets 400] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import uuid
from collections import Counter

import events_common as common
from checkin import seed_door


class Trips:
    """Counts the Redis client's sends (one per round trip) and the engine's statements."""

    def __init__(self, app):
        import redis.connection
        from sqlalchemy import event

        from app.extensions import db

        self.redis, self.sql = [], []
        self.original = original = redis.connection.AbstractConnection.send_packed_command

        def send(conn, command, check_health=True):
            self.redis.append(command)
            return original(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def stop(self) -> None:
        import redis.connection
        from sqlalchemy import event

        redis.connection.AbstractConnection.send_packed_command = self.original
        event.remove(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self.sql.append(statement)

    def clear(self) -> None:
        self.redis.clear()
        self.sql.clear()


def redis_command_names(packed) -> list[str]:
    """The command names in what redis-py sends (RESP arrays of bulk strings)."""
    raw = b"".join(bytes(part) for part in ([packed] if isinstance(packed, bytes) else packed))
    names, pos = [], 0
    while raw.startswith(b"*", pos):
        end = raw.index(b"\r\n", pos)
        count, pos = int(raw[pos + 1 : end]), end + 2
        for n in range(count):
            end = raw.index(b"\r\n", pos)
            length, start = int(raw[pos + 1 : end]), end + 2
            if n == 0:
                names.append(raw[start : start + length].decode(errors="replace").upper())
            pos = start + length + 2
    return names


def profiled_calls(app, check_in, times: int) -> pstats.Stats:
    """cProfile around the WSGI call only (not the test client's own work)."""
    profile = cProfile.Profile()
    inner = app.wsgi_app

    def profiled(environ, start_response):
        profile.enable()
        try:
            return inner(environ, start_response)
        finally:
            profile.disable()

    app.wsgi_app = profiled
    try:
        for _ in range(times):
            check_in()
    finally:
        app.wsgi_app = inner
    return pstats.Stats(profile)


def cpu_median(app, check_in, times: int) -> float:
    """The median CPU seconds inside the WSGI call, without the profiler."""
    served = common.time_served(app)
    cpu = []
    for _ in range(times):
        check_in()
        cpu.append(served["cpu"])
    return statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    redis_db = common.claim_redis_db()
    n = args.tickets
    try:
        url = common.fresh_database("felag_bench_checkin_calls")
        app = common.load_app(
            common.app_env(url, redis_db, CHECKIN_RATE_LIMIT="100000000 per minute")
        )
        data = seed_door(app, 5 * n + 80)
        codes = iter(data["codes"])
        headers = {"Authorization": f"Token {data['key']}"}
        client = app.test_client()

        def check_in() -> None:
            body = {"code": next(codes), "event_id": data["event_id"], "nonce": uuid.uuid4().hex}
            answer = client.post("/api/v1/checkin", json=body, headers=headers)
            assert answer.status_code == 200 and answer.get_json()["status"] == "ok", answer.data

        for _ in range(40):  # warm the process: caches, compiled statements, the Lua script
            check_in()

        trips = Trips(app)
        redis_per, sql_per, shapes = [], [], Counter()
        for _ in range(n):
            trips.clear()
            check_in()
            redis_per.append(len(trips.redis))
            sql_per.append(len(trips.sql))
            shapes[
                (
                    tuple("+".join(redis_command_names(c)) for c in trips.redis),
                    tuple(s.split()[0] for s in trips.sql),
                )
            ] += 1
        trips.stop()
        print(f"{n} check-ins on PostgreSQL with Redis, API token cache on")
        print(
            f"Redis round trips per check-in: median {statistics.median(redis_per)},"
            f" max {max(redis_per)}; SQL statements: median {statistics.median(sql_per)},"
            f" max {max(sql_per)}"
        )
        for (redis_cmds, sql), times in shapes.most_common(5):
            print(f"  {times:5d} x  redis {list(redis_cmds)}  sql {list(sql)}")

        stats = profiled_calls(app, check_in, n)
        app_cpu = cpu_median(app, check_in, n)

        # The bare check-in (bench/checkin_bare_app.py) on the same data, measured alike.
        os.environ["BENCH_EVENT_ID"] = str(data["event_id"])
        os.environ["BENCH_USER_ID"] = str(data["user_id"])
        from checkin_bare_app import app as bare

        bare_client = bare.test_client()

        def bare_check_in() -> None:
            answer = bare_client.post("/bench/checkin", json={"code": next(codes)})
            assert answer.status_code == 200 and answer.get_json()["status"] == "ok", answer.data

        for _ in range(40):
            bare_check_in()
        bare_stats = profiled_calls(bare, bare_check_in, n)
        bare_cpu = cpu_median(bare, bare_check_in, n)

        print(
            f"function calls per check-in (inside the WSGI call): app {stats.total_calls / n:.1f},"
            f" bare {bare_stats.total_calls / n:.1f}"
        )
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"CPU inside the WSGI call, median: app {app_cpu * 1000:.3f} ms,"
            f" bare {bare_cpu * 1000:.3f} ms (noisy; load average {load})"
        )
        if args.top:
            stats.sort_stats("tottime").print_stats(args.top)
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)


if __name__ == "__main__":
    main()
