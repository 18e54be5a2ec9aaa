"""Schemathesis against the live API on PostgreSQL, with a staff token and with a member token.

Every operation of the generated OpenAPI document is called with data the schemas allow and
data they forbid (all checks: no 5xx, every answer matches its documented schema and status,
forbidden data is refused, requests without the token are refused, ...). The path parameters
point at real rows, so the calls reach the services instead of stopping at a 404. The number of
examples per operation is bounded, and the two runs go side by side, so that they take a few
minutes on a busy machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from app.api.services import create_token
from app.events.models import RegistrationTerms
from app.extensions import db
from app.members.models import Membership
from tests.factories import make_event, make_poll, make_registration, make_user

pytestmark = pytest.mark.live

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SETTINGS = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 6


def _seed(app) -> dict:
    """A staff user and a member with a membership, events (one full, one with terms, a draft)
    with the member's ticket, and an open poll; their ids and the two tokens."""
    with app.app_context():
        staff = make_user("fuzz-staff@example.org", roles=["admin"])
        member = make_user("fuzz-member@example.org")
        db.session.add(Membership(user_id=member.id, status="active", full_name=member.name))
        event = make_event("Fuzzing evening", capacity=20)
        db.session.add(RegistrationTerms(event_id=event.id, version=1, text="Be kind."))
        full = make_event("Full", capacity=1, waiting_list_enabled=False)
        make_registration(full)
        make_event("Draft", status="draft")
        ticket = make_registration(event, member)
        poll = make_poll(electorate_kind="users")
        staff_key = create_token(staff, "fuzz")[1]
        member_key = create_token(member, "fuzz")[1]
        db.session.commit()
        return {
            "parameters": {
                "event_id": event.id,
                "poll_id": poll.id,
                "member_id": db.session.scalar(
                    db.select(Membership.id).where(Membership.user_id == member.id)
                ),
                "code": ticket.ticket_code,
            },
            "staff": staff_key,
            "member": member_key,
        }


def _settings(tmp_path: Path, parameters: dict) -> Path:
    """The shared settings plus this run's real ids for the path parameters."""
    lines = [SETTINGS.read_text(), "", "[parameters]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in parameters.items()]
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(live_server: str, key: str, settings: Path, report: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(SCHEMATHESIS),
            "--no-color",
            "--config-file",
            str(settings),
            "run",
            f"{live_server}/api/v1/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Token {key}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "2",
            "--seed",
            "20261202",
            "--request-timeout",
            "30",
            "--report-dir",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def fuzzed_api(app, live_server, postgres, monkeypatch, tmp_path):
    """The live server with generous rate limits (the fuzzer is one busy client) and data."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    monkeypatch.setitem(app.config, "CHECKIN_RATE_LIMIT", "100000 per minute")
    seeded = _seed(app)
    operations = sum(
        len([m for m in item if m != "parameters"])
        for item in requests.get(f"{live_server}/api/v1/openapi.json", timeout=30)
        .json()["paths"]
        .values()
    )
    return seeded, _settings(tmp_path, seeded["parameters"]), operations


def test_every_operation_holds_its_contract_for_staff_and_members(
    live_server, fuzzed_api, tmp_path
):
    seeded, settings, operations = fuzzed_api
    # The two runs go side by side (the live server answers each request in its own thread).
    runs = {
        who: _start(live_server, seeded[who], settings, tmp_path / f"report-{who}")
        for who in ("staff", "member")
    }
    outputs = {who: run.communicate(timeout=900)[0] for who, run in runs.items()}
    for who, run in runs.items():
        output = outputs[who]
        print(f"--- schemathesis as {who} ---\n{output}")  # shown whole when an assertion fails
        # Every operation of the document was selected and tested (schemathesis leaves out
        # GET /api/v1/openapi.json, the document it was given).
        selected = re.search(r"Selected: (\d+)/(\d+)", output)
        assert selected and selected[1] == selected[2], (who, output[-3000:])
        assert int(selected[2]) == operations - 1 and f"Tested: {selected[2]}" in output, (
            who,
            output[-3000:],
        )
        assert run.returncode == 0, (who, output[-8000:])
        assert " passed" in output and "failures" not in output.lower(), (who, output[-3000:])
