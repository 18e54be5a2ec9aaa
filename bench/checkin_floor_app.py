"""The lowest floor of a check-in, for bench/checkin.py only (not part of the product).

A minimal Flask application (no Félag extensions or hooks) with one route, POST
/api/v1/checkin, that does nothing but the conditional UPDATE ... RETURNING a check-in needs,
through SQLAlchemy and psycopg 3 on PostgreSQL under gunicorn. No token, no signature, no scan
log, no rate limit, no sessions or security headers. DATABASE_URL, BENCH_EVENT_ID and
BENCH_USER_ID come from the environment. (bench/checkin_bare_app.py is the same endpoint inside
the Félag application.)
"""

import os

import sqlalchemy as sa
from flask import Flask, jsonify, request

url = os.environ["DATABASE_URL"]
if url.startswith("postgresql://"):
    url = "postgresql+psycopg://" + url[len("postgresql://") :]
engine = sa.create_engine(url, pool_pre_ping=True)
EVENT_ID = int(os.environ["BENCH_EVENT_ID"])
USER_ID = int(os.environ["BENCH_USER_ID"])
CHECK_IN = sa.text(
    "UPDATE registrations SET checked_in_at = now(), checked_in_by_id = :user_id "
    "WHERE ticket_code = :code AND event_id = :event_id "
    "AND checked_in_at IS NULL AND state = 'confirmed' "
    "RETURNING id, name, checked_in_at"
)

app = Flask(__name__)


@app.post("/api/v1/checkin")
def checkin():
    """Check the code in, or say it was not."""
    code = request.get_json()["code"]
    with engine.begin() as conn:
        row = conn.execute(
            CHECK_IN, {"user_id": USER_ID, "code": code, "event_id": EVENT_ID}
        ).first()
    if row is None:
        return jsonify({"status": "already_checked_in", "registration": None})
    return jsonify(
        {
            "status": "ok",
            "registration": {"id": row.id, "name": row.name},
            "checked_in_at": row.checked_in_at.isoformat(),
        }
    )
