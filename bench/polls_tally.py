"""Tally benchmark: 10,000 ranked ballots, 12 candidates, 3 seats (STV), on PostgreSQL.

Run from the repository root (PostgreSQL on its local default):

    .venv/bin/python bench/polls_tally.py                   # 10,000 ballots, 5 repeats
    .venv/bin/python bench/polls_tally.py --ballots 2000 --repeats 3

Steps: (1) drop and create the database felag_bench_polls_tally and build the schema with
create_all; (2) one closed secret poll with one ranked question (12 candidates, 3 seats) and
--ballots ballots written in bulk (each voter ranks 3 to 12 candidates, drawn one after another
by popularity, seeded, so that the count needs several rounds of surplus transfers and
exclusions), plus as many participation rows; (3) time `tally.stv` on the rankings in memory and
`tally.poll_results` (reading the ballots from PostgreSQL, counting, building every round) and
print the median and the slowest of --repeats runs. Results go to stdout and
bench/results/polls_tally.txt. The target: the whole of poll_results under 2 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DB_NAME = "felag_bench_polls_tally"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
CANDIDATES = 12
SEATS = 3
TARGET_SECONDS = 2.0


def rankings(count: int, rng: random.Random) -> list[list[int]]:
    """Preference orders over positions 0..11, drawn by popularity one candidate at a time."""
    popularity = [1.0 / (n + 2) for n in range(CANDIDATES)]
    result = []
    for _ in range(count):
        left = list(range(CANDIDATES))
        weights = [popularity[c] * rng.uniform(0.5, 1.5) for c in left]
        ranking = []
        for _ in range(rng.randint(3, CANDIDATES)):
            pick = rng.choices(range(len(left)), weights=weights)[0]
            ranking.append(left.pop(pick))
            weights.pop(pick)
        result.append(ranking)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))

    from app import create_app
    from config import DevelopmentConfig

    app = create_app(
        DevelopmentConfig,
        {"SQLALCHEMY_DATABASE_URI": DATABASE_URL, "REDIS_URL": "", "MAIL_SERVER": ""},
    )
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        with app.app_context():
            from app.core.timeutil import utcnow
            from app.extensions import db
            from app.polls import tally
            from app.polls.models import (
                Ballot,
                BallotChoice,
                Participation,
                Poll,
                PollOption,
                PollQuestion,
                new_ballot_id,
            )

            db.create_all()
            now = utcnow()
            question = PollQuestion(position=0, text="Board", kind="ranked", seats=SEATS)
            question.options = [
                PollOption(position=n, text=f"Candidate {n + 1}") for n in range(CANDIDATES)
            ]
            poll = Poll(
                title="Board election (benchmark)",
                status="closed",
                secret=True,
                electorate_kind="users",
                opens_at=now - timedelta(days=2),
                closes_at=now - timedelta(days=1),
                opened_at=now - timedelta(days=2),
                closed_at=now - timedelta(days=1),
                electorate_size=int(args.ballots * 1.25),
                questions=[question],
            )
            db.session.add(poll)
            db.session.flush()
            option_ids = [o.id for o in question.options]
            rng = random.Random(14)
            drawn = rankings(args.ballots, rng)
            ballot_rows, choice_rows = [], []
            for n, ranking in enumerate(drawn):
                ballot_id = new_ballot_id()
                ballot_rows.append(
                    {"id": ballot_id, "poll_id": poll.id, "receipt_hash": f"{n:064x}"}
                )
                choice_rows.extend(
                    {
                        "ballot_id": ballot_id,
                        "option_id": option_ids[c],
                        "question_id": question.id,
                        "rank": rank,
                    }
                    for rank, c in enumerate(ranking, start=1)
                )
            db.session.execute(sa.insert(Ballot), ballot_rows)
            db.session.execute(sa.insert(BallotChoice), choice_rows)
            db.session.execute(sa.insert(Participation), [{"poll_id": poll.id}] * args.ballots)
            db.session.commit()
            db.session.execute(sa.text("ANALYZE"))
            say(
                f"{datetime.now():%Y-%m-%d %H:%M}: {args.ballots} ballots, {len(choice_rows)} "
                f"preferences, {CANDIDATES} candidates, {SEATS} seats, PostgreSQL"
            )

            in_memory = [[option_ids[c] for c in ranking] for ranking in drawn]
            memory_times, db_times = [], []
            result = None
            for _ in range(args.repeats):
                started = time.perf_counter()
                count = tally.stv(option_ids, in_memory, SEATS)
                memory_times.append(time.perf_counter() - started)
                db.session.expire_all()
                poll = db.session.get(Poll, poll.id)
                started = time.perf_counter()
                result = tally.poll_results(poll)
                db_times.append(time.perf_counter() - started)
            ranked = result["questions"][0]
            stages = ranked["rounds"]
            say(
                f"count: quota {ranked['quota']}, {len(stages)} rounds "
                f"({sum(1 for s in stages if s['transfer_kind'] == 'surplus')} surplus transfers, "
                f"{sum(len(s['eliminated']) for s in stages)} exclusions), elected "
                f"{[option_ids.index(o) + 1 for o in ranked['elected']]}"
            )
            assert ranked["elected"] == count.elected
            say(
                f"tally.stv in memory:           median {statistics.median(memory_times):.3f} s, "
                f"slowest {max(memory_times):.3f} s"
            )
            say(
                f"tally.poll_results from the DB: median {statistics.median(db_times):.3f} s, "
                f"slowest {max(db_times):.3f} s (target < {TARGET_SECONDS:.0f} s: "
                f"{'met' if max(db_times) < TARGET_SECONDS else 'NOT met'})"
            )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "polls_tally.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
