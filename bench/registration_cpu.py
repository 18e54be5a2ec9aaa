"""CPU of one registration POST outside the database (issue 13, part 3: under 3 ms).

The app runs in this process on a fresh PostgreSQL database with Redis, as gunicorn would serve
it; N members, each with the session cookie and CSRF token /auth/login would give them
(events_common.signed_sessions), register once each for one event with room for all, through the
real `POST /events/<id>/register` route, session, CSRF check, service and the RQ hand-over of the
ticket job. The CPU is this process's, taken inside the WSGI call (the test client's own work is
the client's); PostgreSQL's and Redis's work is in their own processes. The floor beside it in the
same run: the bare hello-world Flask app of bench/hello_app.py, through the same test client.

    .venv/bin/python bench/registration_cpu.py [--people 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import events_common as common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=400)
    args = parser.parse_args()
    redis_db = common.claim_redis_db()
    try:
        url = common.fresh_database("felag_bench_registration")
        app = common.load_app(common.app_env(url, redis_db))
        people = common.make_members(app, args.people + 20)
        event_id = common.make_event(app, args.people + 100)
        sessions = common.signed_sessions(app, people)
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        served = common.time_served(app)
        client = app.test_client()
        sys.path.insert(0, os.path.dirname(__file__))
        from hello_app import app as hello

        hello_served = common.time_served(hello)
        hello_client = hello.test_client()
        costs, floor = [], []
        for n, (cookie, token) in enumerate(sessions):
            client.set_cookie(cookie_name, cookie)
            answer = client.post(f"/events/{event_id}/register", data={"csrf_token": token})
            assert answer.status_code in (302, 303), answer.status_code
            if n >= 20:  # the first twenty warm the process up
                costs.append(served["cpu"])
            hello_client.get("/")
            floor.append(hello_served["cpu"])
        load = os.getloadavg()
        print(f"{len(costs)} registrations on PostgreSQL; load average {load[0]:.2f} {load[1]:.2f}")
        median, p90 = statistics.median(costs), sorted(costs)[int(len(costs) * 0.9)]
        print(
            f"registration POST, CPU outside the database: median {median * 1000:.2f} ms,"
            f" p90 {p90 * 1000:.2f} ms (target < 3 ms)"
        )
        print(f"bare hello GET, same measure: median {statistics.median(floor) * 1000:.3f} ms")
    finally:
        common.stop_all()
        common.release_redis_db(redis_db)


if __name__ == "__main__":
    main()
