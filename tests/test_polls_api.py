"""The polls API: create with the issue's exact body, read, open, close, ballots with their error
codes, results (403 before publication for people who are not staff), the list and OpenAPI."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.api.services import create_token
from app.extensions import db
from app.members.models import Group
from app.polls.models import Ballot, Participation, Poll
from tests.factories import make_event, make_poll, make_registration, make_user

BODY = {
    "title": "Stjórnarkjör 2027",
    "description": "Kosning í stjórn",
    "secret": True,
    "results": "after_close",
    "electorate": {"kind": "users"},
    "opens_at": "2031-03-01T09:00:00+00:00",
    "closes_at": "2031-03-08T09:00:00+00:00",
    "questions": [
        {"text": "Ársreikningar samþykktir?", "kind": "yes_no"},
        {"text": "Formaður", "kind": "single", "options": ["Anna", "Jón"]},
        {"text": "Nefnd", "kind": "multiple", "max_choices": 2, "options": ["A", "B", "C"]},
        {"text": "Stjórn", "kind": "ranked", "seats": 2, "options": ["Þóra", "Einar", "Helga"]},
    ],
}


ONE_OPTION = [{"text": "Q", "kind": "single", "options": ["A"]}]


def _headers(user) -> dict:
    _token, key = create_token(user, "app")
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def staff_api(ctx):
    headers = _headers(make_user("party@example.org", roles=["membership"]))
    db.session.commit()
    return headers


def test_create_with_the_issue_body_answers_the_poll_as_get_shows_it(client, staff_api):
    response = client.post("/api/v1/polls", json=BODY, headers=staff_api)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["title"] == "Stjórnarkjör 2027" and created["status"] == "scheduled"
    assert created["secret"] is True and created["results"] == "after_close"
    assert created["electorate"]["kind"] == "users"
    assert created["opens_at"] == "2031-03-01T09:00:00+00:00"
    kinds = [
        (q["kind"], len(q["options"]), q["max_choices"], q["seats"]) for q in created["questions"]
    ]
    assert kinds == [
        ("yes_no", 3, 1, 1),
        ("single", 2, 1, 1),
        ("multiple", 3, 2, 1),
        ("ranked", 3, 1, 2),
    ]
    assert all(isinstance(o["id"], int) for q in created["questions"] for o in q["options"])
    got = client.get(f"/api/v1/polls/{created['id']}", headers=staff_api).get_json()
    assert got == created


def test_create_refuses_bad_bodies_and_other_roles(client, staff_api, ctx):
    member = _headers(make_user())
    db.session.commit()
    assert client.post("/api/v1/polls", json=BODY, headers=member).status_code == 403
    assert client.post("/api/v1/polls", json=BODY).status_code == 401
    cases = [
        ({**BODY, "title": ""}, "title"),
        ({**BODY, "results": "sometimes"}, "results"),
        ({**BODY, "opens_at": "2031-03-01T09:00:00"}, "opens_at"),
        ({**BODY, "electorate": {"kind": "group", "group": "nope"}}, "electorate.group"),
        ({**BODY, "questions": []}, "questions"),
        ({**BODY, "questions": ONE_OPTION}, "questions.0.options"),
        ({**BODY, "secret": True, "may_change_vote": True}, "may_change_vote"),
    ]  # fmt: skip
    for body, field in cases:
        response = client.post("/api/v1/polls", json=body, headers=staff_api)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert db.session.scalar(select(func.count()).select_from(Poll)) == 0


def test_a_group_electorate_by_slug(client, staff_api, ctx):
    group = Group(name="Reykjavík cell", slug="reykjavik")
    db.session.add(group)
    db.session.commit()
    body = {**BODY, "electorate": {"kind": "group", "group": "reykjavik"}}
    created = client.post("/api/v1/polls", json=body, headers=staff_api).get_json()
    assert created["electorate"] == {
        "kind": "group",
        "group": "reykjavik",
        "event_id": None,
        "size": None,
    }


def test_open_vote_close_and_results(client, staff_api, ctx):
    voter, outsider = make_user(), make_user()
    event = make_event()
    make_registration(event, voter)
    db.session.commit()
    voter_h, outsider_h = _headers(voter), _headers(outsider)
    db.session.commit()
    body = {
        **BODY,
        "electorate": {"kind": "event", "event_id": event.id},
        "opens_at": None,
        "closes_at": None,
    }
    poll = client.post("/api/v1/polls", json=body, headers=staff_api).get_json()
    assert poll["status"] == "draft" and poll["electorate"]["event_id"] == event.id
    url = f"/api/v1/polls/{poll['id']}"
    q = poll["questions"]
    answers = {
        str(q[0]["id"]): [q[0]["options"][0]["id"]],
        str(q[1]["id"]): [q[1]["options"][1]["id"]],
        str(q[3]["id"]): [q[3]["options"][2]["id"], q[3]["options"][0]["id"]],
    }
    # Not open yet.
    early = client.post(f"{url}/ballots", json={"answers": answers}, headers=voter_h)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "closed"
    assert client.post(f"{url}/open", headers=voter_h).status_code == 403
    opened = client.post(f"{url}/open", headers=staff_api)
    assert opened.status_code == 200 and opened.get_json()["status"] == "open"
    assert opened.get_json()["electorate"]["size"] == 1
    assert client.post(f"{url}/open", headers=staff_api).status_code == 409

    first = client.post(f"{url}/ballots", json={"answers": answers}, headers=voter_h)
    assert first.status_code == 201 and len(first.get_json()["receipt"]) >= 16
    again = client.post(f"{url}/ballots", json={"answers": answers}, headers=voter_h)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_voted"
    outside = client.post(f"{url}/ballots", json={"answers": answers}, headers=outsider_h)
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "not_eligible"
    too_many = {str(q[2]["id"]): [o["id"] for o in q[2]["options"]]}
    bad = client.post(f"{url}/ballots", json={"answers": too_many}, headers=staff_api)
    assert bad.status_code in (403, 422)  # staff are not confirmed for the event
    assert client.post(f"{url}/ballots", json={"answers": []}, headers=voter_h).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1

    # The voter sees the poll and that they voted; results are not theirs to see yet.
    seen = client.get(url, headers=voter_h).get_json()
    assert seen["voted"] is True
    assert client.get(url, headers=outsider_h).status_code == 404
    hidden = client.get(f"{url}/results", headers=voter_h)
    assert hidden.status_code == 403 and hidden.get_json()["error"]["code"] == "forbidden"

    closed = client.post(f"{url}/close", headers=staff_api)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    late = client.post(f"{url}/ballots", json={"answers": answers}, headers=outsider_h)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "closed"
    assert client.get(f"{url}/results", headers=voter_h).status_code == 403
    results = client.get(f"{url}/results", headers=staff_api).get_json()
    assert results["electorate"] == 1 and results["voted"] == 1
    ranked = results["questions"][3]
    assert [o["votes"] for o in ranked["options"]] == [0, 0, 1]
    assert ranked["rounds"] and len(ranked["elected"]) == 2
    assert set(results["questions"][0]) >= {"id", "options", "rounds", "elected"}
    assert set(ranked["options"][0]) >= {"id", "text", "votes"}

    from app.polls import setup

    setup.publish_results(db.session.get(Poll, poll["id"]))
    db.session.commit()
    assert client.get(f"{url}/results", headers=voter_h).status_code == 200


def test_the_list_shows_what_the_caller_may_see(client, staff_api, ctx):
    voter = make_user()
    make_poll(title="Mine")
    make_poll(title="Draft", status="draft")
    make_poll(title="Published", status="published")
    late = make_user()  # joined after the polls opened: not in their electorates
    voter_h, late_h = _headers(voter), _headers(late)
    db.session.commit()
    body = client.get("/api/v1/polls", headers=voter_h).get_json()
    assert {p["title"] for p in body["results"]} == {"Mine", "Published"}
    assert body["results"][0]["voted"] is False
    later = client.get("/api/v1/polls", headers=late_h).get_json()
    assert [p["title"] for p in later["results"]] == ["Published"]
    staff_body = client.get("/api/v1/polls?limit=1", headers=staff_api).get_json()
    assert staff_body["count"] == 3 and len(staff_body["results"]) == 1 and staff_body["next"]
    assert client.get("/api/v1/polls/999999", headers=staff_api).status_code == 404
    assert client.get("/api/v1/polls?limit=5000", headers=staff_api).status_code == 422


def test_openapi_describes_the_poll_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/polls"]) == {"get", "post"}
    assert "get" in paths["/api/v1/polls/{poll_id}"]
    for tail in ("open", "close", "ballots"):
        assert "post" in paths[f"/api/v1/polls/{{poll_id}}/{tail}"]
    ballot = paths["/api/v1/polls/{poll_id}/ballots"]["post"]["responses"]
    assert {"201", "403", "409", "422"} <= set(ballot)
    assert "get" in paths["/api/v1/polls/{poll_id}/results"]


def test_the_list_reads_the_same_statements_for_two_polls_or_ten(app, client, staff_api, ctx):
    from tests.helpers import StatementCounter

    group = Group(name="Board", slug="board", kind="committee")
    db.session.add(group)
    questions = (("Approve?", "yes_no", (), 1, 1), ("Chair", "single", ("A", "B"), 1, 1))
    counts = []
    for more in (2, 8):
        for n in range(more):
            make_poll(title=f"Poll {n}", questions=questions, electorate_kind="group", group=group)
        db.session.commit()
        client.get("/api/v1/polls?limit=100", headers=staff_api)  # the token is cached after
        with StatementCounter(app) as counter:
            body = client.get("/api/v1/polls?limit=100", headers=staff_api).get_json()
        assert body["count"] == sum((2, 8)[: len(counts) + 1])
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
