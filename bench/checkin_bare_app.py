"""The bare check-in endpoint in Félag's own stack, for bench/checkin.py only (not the product).

The Félag application exactly as gunicorn serves it (wsgi.py: create_app with its config,
extensions, request hooks, security headers, Flask-SQLAlchemy session and engine options), plus
one bench-only route, POST /bench/checkin, that does only the conditional UPDATE ... RETURNING
a check-in needs and commits: no token, no signature check, no scan log, no rate limit. The
difference to POST /api/v1/checkin is what the check-in itself costs on top of the stack.
BENCH_EVENT_ID and BENCH_USER_ID come from the environment.
"""

import os

from flask import jsonify, request
from sqlalchemy import text

from app import create_app
from app.extensions import csrf, db

EVENT_ID = int(os.environ["BENCH_EVENT_ID"])
USER_ID = int(os.environ["BENCH_USER_ID"])
CHECK_IN = text(
    "UPDATE registrations SET checked_in_at = now(), checked_in_by_id = :user_id "
    "WHERE ticket_code = :code AND event_id = :event_id "
    "AND checked_in_at IS NULL AND state = 'confirmed' "
    "RETURNING id, name, checked_in_at"
)

app = create_app()


@csrf.exempt
def bare_checkin():
    """Check the code in, or say it was not."""
    code = request.get_json()["code"]
    row = db.session.execute(
        CHECK_IN, {"user_id": USER_ID, "code": code, "event_id": EVENT_ID}
    ).first()
    db.session.commit()
    if row is None:
        return jsonify({"status": "already_checked_in", "registration": None})
    return jsonify(
        {
            "status": "ok",
            "registration": {"id": row.id, "name": row.name},
            "checked_in_at": row.checked_in_at.isoformat(),
        }
    )


app.add_url_rule("/bench/checkin", view_func=bare_checkin, methods=["POST"])
