"""Secret ballots: after real votes, nothing stored, logged or mailed links a voter to a ballot."""

from __future__ import annotations

import logging
import re

from sqlalchemy import inspect, select

from app.extensions import db
from app.polls import ballots
from app.polls.models import Ballot, Participation
from tests.factories import make_poll, make_user
from tests.helpers import csrf_from, login, run_jobs

RECEIPT_RE = re.compile(r"data-receipt>([A-Z0-9-]+)<")
QUESTIONS = (
    ("Chair", "single", ("Ada", "Bo", "Cy"), 1, 1),
    ("Board", "ranked", ("Hal", "Ivy", "Jon"), 1, 2),
)


def every_row_as_text() -> dict[str, str]:
    """Each table's rows as one text (what an administrator with database access can read)."""
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        tables[table.name] = "\n".join(repr(tuple(row)) for row in rows)
    return tables


def test_nobody_can_tell_who_cast_which_secret_ballot(app, ctx, caplog, mailbox):
    caplog.set_level(logging.DEBUG)
    voters = [make_user(f"secret{n}@example.org") for n in range(8)]
    poll = make_poll(questions=QUESTIONS)
    db.session.commit()
    chair, board = poll.questions
    voting_order: list[str] = []  # ballot ids in the order they were cast (only the test knows)
    receipts: list[str] = []
    cookies: list[str] = []
    for n, voter in enumerate(voters):
        client = app.test_client()
        login(client, voter.email)
        page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
        before = set(db.session.scalars(select(Ballot.id)))
        response = client.post(
            f"/polls/{poll.id}",
            data={
                "csrf_token": csrf_from(page),
                f"q{chair.id}": str(chair.options[n % 3].id),
                f"rank-{board.id}-{board.options[n % 3].id}": "1",
            },
        )
        receipts.append(RECEIPT_RE.search(response.get_data(as_text=True)).group(1))
        cookies.extend(response.headers.getlist("Set-Cookie"))
        db.session.expire_all()
        [new] = set(db.session.scalars(select(Ballot.id))) - before
        voting_order.append(new)
    run_jobs(app, raise_failures=False)

    # The ballot rows: no voter, no time (no such columns), only a hash of the receipt.
    assert {c.name for c in inspect(Ballot).columns} == {"id", "poll_id", "receipt_hash", "user_id"}
    assert {c.name for c in inspect(Participation).columns} == {"id", "poll_id", "user_id"}
    rows = db.session.execute(select(Ballot.user_id, Ballot.receipt_hash)).all()
    assert len(rows) == 8 and all(user_id is None for user_id, _hash in rows)
    hashes = [ballots.receipt_hash(code) for code in receipts]
    assert {h for _u, h in rows} == set(hashes)

    # Nothing anywhere holds a receipt; ballot ids and receipt hashes exist only in the ballot
    # tables, which name nobody.
    secrets = receipts + [ballots.normalise_receipt(r) for r in receipts]
    links = voting_order + hashes
    tables = every_row_as_text()
    for name, text in tables.items():
        assert not any(code in text for code in secrets), name
        if name not in ("poll_ballots", "poll_ballot_choices"):
            assert not any(link in text for link in links), name
    # The logs, the mail outbox and the mails sent: no receipt, no ballot id.
    log_text = caplog.text
    mails = "\n".join(m.as_string() for m in mailbox.messages)
    for text in (log_text, mails, tables["outbox_messages"], tables["audit_entries"]):
        assert not any(code in text for code in secrets + links)
    # The session cookie does not carry the receipt either.
    serializer = app.session_interface.get_signing_serializer(app)
    for header in cookies:
        value = header.split(";", 1)[0].split("=", 1)[1]
        if value:
            assert not any(code in repr(serializer.loads(value)) for code in secrets)

    # Closing rewrites the ballots: new keys, and neither the key order nor the order the
    # database returns them in follows the voting order any more.
    ballots.mix_ballots(poll)
    db.session.commit()
    by_hash = dict(zip(hashes, range(8), strict=True))
    stored = [by_hash[h] for h in db.session.scalars(select(Ballot.receipt_hash))]
    by_key = [
        by_hash[h] for h in db.session.scalars(select(Ballot.receipt_hash).order_by(Ballot.id))
    ]
    assert set(db.session.scalars(select(Ballot.id))).isdisjoint(voting_order)
    assert stored != list(range(8)) and by_key != list(range(8))
    assert all(ballots.receipt_counted(poll, code) for code in receipts)
