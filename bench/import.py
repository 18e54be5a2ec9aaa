"""Member import benchmark: a 50,000-row CSV checked and written by the import jobs on PostgreSQL.

Run from the repository root (PostgreSQL on its local default):

    .venv/bin/python bench/import.py                       # 50,000 rows, 10,000 members already
    .venv/bin/python bench/import.py --rows 5000 --existing 1000

Steps: (1) drop and create the database felag_bench_import and build the schema with create_all;
(2) add --existing demo members (`app.members.demo.generate`) and a membership staff user;
(3) write a CSV of --rows people (names, e-mail, a valid kennitala for half of them, birthday,
phone, address, joined date, unions, consents, language), different from the existing members;
(4) upload it the way the page does (`tasks.save_upload`: encrypted into private storage, a
member_imports row, a job row through `enqueue_after_commit`) and run that job with the job
system's own `run_job` (claim, run, mark done) — the check; (5) confirm as the page does and run
the second job — the write; (6) check that every row is in the database and the file is gone,
and print the time of each step. Results go to stdout and bench/results/import.txt.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DB_NAME = "felag_bench_import"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
COLUMNS = (
    "full_name;email;national_id;birthday;phone;street;house_number;postal_code;city;"
    "municipality;country;joined_on;unions;reachable;newsletter;language"
)


def make_csv(rows: int, seed: int = 5) -> bytes:
    """A semicolon-separated UTF-8 file of `rows` distinct, valid people."""
    from app.demo import demo_people
    from app.members.demo import ICELANDIC_PLACES, STREETS_IS, UNIONS, kennitala

    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS.split(";"))
    numbers: set[str] = set()
    for n, (name, _email, locale) in enumerate(demo_people(rows, seed)):
        # Born 1926-1939: the demo members (born 1940 on) never share a kennitala with these.
        born = date(1926, 1, 1) + timedelta(days=rng.randint(0, 365 * 13))
        number = ""
        if n % 2:
            number = kennitala(rng, born)
            while number in numbers:
                number = kennitala(rng, born)
            numbers.add(number)
        city, municipality, _region, postal = rng.choice(ICELANDIC_PLACES)
        unions = "; ".join(
            f"{union}:{rng.randint(1, 99999)}" for union in rng.sample(UNIONS, rng.randint(0, 2))
        )
        writer.writerow(
            [
                name,
                f"import-{n:06d}@example.org",
                number,
                born.isoformat() if not number or n % 4 == 1 else "",
                f"+354 {rng.randint(600, 899)} {rng.randint(1000, 9999)}",
                rng.choice(STREETS_IS),
                str(rng.randint(1, 120)),
                postal,
                city,
                municipality,
                "IS",
                (date(2024, 1, 1) - timedelta(days=rng.randint(0, 3000))).isoformat(),
                unions,
                rng.choice(["yes", "no", ""]),
                rng.choice(["yes", "no", ""]),
                rng.choice([locale, "en", ""]),
            ]
        )
    return out.getvalue().encode("utf-8")


def _problems(member_import) -> list:
    result = member_import.result or {}
    return result.get("file_errors", []) + [r for r in result.get("rows", []) if r["errors"]][:5]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--existing", type=int, default=10000, help="members already there")
    args = parser.parse_args()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))

    from app import create_app
    from config import DevelopmentConfig

    storage = tempfile.mkdtemp(prefix="felag-bench-import-")
    app = create_app(
        DevelopmentConfig,
        {
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "STORAGE_DIR": storage,
            "REDIS_URL": "",
            "S3_BUCKET": "",
            "MAIL_SERVER": "",
        },
    )
    lines = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with app.app_context():
        from app.auth.services import create_user
        from app.core import jobs
        from app.extensions import db
        from app.members import tasks
        from app.members.demo import generate
        from app.members.models import MemberImport, Membership

        db.create_all()
        started = time.perf_counter()
        if args.existing:
            generate(args.existing, seed=11)
        staff = create_user(
            "bench-staff@example.org",
            "Bench Staff",
            "x" * 16,
            ["membership"],
            True,
            "en",
            check_password=False,
        )
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        say(f"setup: {args.existing} members already there ({time.perf_counter() - started:.1f} s)")

        started = time.perf_counter()
        data = make_csv(args.rows)
        made = time.perf_counter() - started
        say(f"CSV: {args.rows} rows, {len(data) / 1e6:.2f} MB ({made:.1f} s)")

        def run_the_job() -> float:
            job_id = db.session.scalar(
                sa.select(jobs.Job.id).where(jobs.Job.state == "pending").order_by(jobs.Job.id)
            )
            db.session.remove()
            began = time.perf_counter()
            outcome = jobs.run_job(job_id)
            elapsed = time.perf_counter() - began
            db.session.remove()
            state = db.session.scalar(sa.select(jobs.Job.state).where(jobs.Job.id == job_id))
            assert state == "done", (outcome, state)
            return elapsed

        load = os.getloadavg()[0]
        total_started = time.perf_counter()
        began = time.perf_counter()
        upload = tasks.save_upload(data, staff.id)
        jobs.enqueue_after_commit(tasks.run_import, upload.id)
        db.session.commit()
        import_id, key = upload.id, upload.file_key
        upload_time = time.perf_counter() - began
        check_time = run_the_job()
        member_import = db.session.get(MemberImport, import_id)
        assert member_import.state == "ready", (member_import.state, _problems(member_import))
        db.session.execute(
            sa.update(MemberImport).where(MemberImport.id == import_id).values(state="confirmed")
        )
        jobs.enqueue_after_commit(tasks.run_import, import_id)
        db.session.commit()
        write_time = run_the_job()
        total = time.perf_counter() - total_started
        member_import = db.session.get(MemberImport, import_id)
        count = db.session.scalar(sa.select(sa.func.count(Membership.id)))
        assert member_import.state == "done", (member_import.state, _problems(member_import))
        assert member_import.imported_count == args.rows
        assert count == args.existing + args.rows, count
        assert member_import.file_key is None
        assert not (Path(storage) / "private" / key).exists()

    say(
        f"upload (encrypt, store, rows): {upload_time:.1f} s; check job: {check_time:.1f} s; "
        f"write job: {write_time:.1f} s"
    )
    say(
        f"total {total:.1f} s for {args.rows} rows ({args.rows / total:.0f} rows/s), "
        f"load average at the start {load:.2f}; every row written, the file deleted"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    (RESULTS / "import.txt").write_text(f"{stamp}\n" + "\n".join(lines) + "\n")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
