"""The member-sync API: list, read, change; the national ID read-only; DELETE refused."""

from datetime import date

import pytest

from app.api.services import create_token
from app.core.audit import AuditEntry
from app.extensions import db
from app.members.models import Membership
from tests.factories import make_user
from tests.members_helpers import kennitala, make_member


@pytest.fixture
def api(ctx):
    user = make_user("sync@example.org", roles=["membership"])
    _token, key = create_token(user, "sync")
    db.session.commit()
    return {"Authorization": f"Token {key}"}


def test_list_with_paging_filters_and_no_test_records(client, api):
    number = kennitala(date(1990, 5, 5))
    first = make_member(full_name="Api One", national_id=number, municipality="Kópavogsbær")
    make_member(full_name="Api Two", status="applied")
    make_member(full_name="Api Three")
    make_member(full_name="Api Test", is_test=True)
    db.session.commit()
    body = client.get("/api/v1/members?limit=2", headers=api).get_json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["previous"] is None
    assert body["next"] and "offset=2" in body["next"]
    rest = client.get("/api/v1/members?limit=2&offset=2", headers=api).get_json()
    assert [m["full_name"] for m in rest["results"]] == ["Api Three"]
    one = body["results"][0]
    assert one["id"] == first.id and one["national_id"] == f"{number[:6]}-{number[6:]}"
    assert one["national_id_masked"] == f"{number[:6]}-****"
    assert one["address"]["municipality"] == "Kópavogsbær"
    assert client.get("/api/v1/members?status=applied", headers=api).get_json()["count"] == 1
    found = client.get(f"/api/v1/members?national_id={number}", headers=api).get_json()
    assert [m["id"] for m in found["results"]] == [first.id]
    with_test = client.get("/api/v1/members?include_test=1", headers=api).get_json()
    assert with_test["count"] == 4
    reveal = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "member.national_id_revealed")
    ).all()
    assert (
        reveal and reveal[0].after["via"] == "api" and first.id in reveal[0].after["membership_ids"]
    )


def test_get_patch_and_the_read_only_national_id(client, api):
    number = kennitala(date(1977, 7, 7))
    member = make_member(full_name="Patch Me", national_id=number)
    db.session.commit()
    url = f"/api/v1/members/{member.id}"
    got = client.get(url, headers=api).get_json()
    assert got["full_name"] == "Patch Me" and got["status"] == "active"

    changed = client.patch(
        url,
        json={
            "phone": "+354 123 4567",
            "address": {"city": "Hafnarfjörður"},
            "unions": [{"union": "BHM", "member_number": "55"}],
            "consents": {"newsletter": True},
        },
        headers=api,
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["phone"] == "+354 123 4567" and body["address"]["city"] == "Hafnarfjörður"
    assert body["unions"] == [{"union": "BHM", "member_number": "55"}]
    assert body["consents"]["newsletter"] is True
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "member.updated"))
    assert entry.before["phone"] == "+354 555 1234" and entry.after["city"] == "Hafnarfjörður"
    assert entry.actor.email == "sync@example.org"

    for field in ("national_id", "email", "id"):
        refused = client.patch(url, json={field: "1201903269", "phone": "1"}, headers=api)
        assert refused.status_code == 422
        error = refused.get_json()["error"]
        assert field in error["fields"], error
    unknown = client.patch(url, json={"shoe_size": 42}, headers=api)
    assert unknown.status_code == 422 and "shoe_size" in unknown.get_json()["error"]["fields"]
    bad = client.patch(url, json={"birthday": "2999-01-01"}, headers=api)
    assert bad.status_code == 422 and "birthday" in bad.get_json()["error"]["fields"]
    db.session.expire_all()
    fresh = db.session.get(Membership, member.id)
    assert fresh.phone == "+354 123 4567" and fresh.birthday == date(1977, 7, 7)

    deleted = client.delete(url, headers=api)
    assert (
        deleted.status_code == 405 and deleted.get_json()["error"]["code"] == "method_not_allowed"
    )
    assert db.session.get(Membership, member.id) is not None


@pytest.mark.parametrize(
    "unions, field",
    [
        ([{}], "union"),
        ([{"union": "BHM"}, {"member_number": "7"}], "union"),
        ([{"union": ""}], "union"),
        ([{"union": "B" * 201}], "union"),
        ([{"union": "BHM", "member_number": "9" * 61}], "member_number"),
    ],
)
def test_a_union_row_without_its_name_answers_422_and_changes_nothing(client, api, unions, field):
    member = make_member(full_name="Union Row")
    db.session.commit()
    url = f"/api/v1/members/{member.id}"
    kept = client.patch(url, json={"unions": [{"union": "VR", "member_number": "1"}]}, headers=api)
    assert kept.status_code == 200, kept.get_json()
    refused = client.patch(url, json={"phone": "+354 000 0000", "unions": unions}, headers=api)
    assert refused.status_code == 422, refused.get_json()
    named = refused.get_json()["error"]["fields"]
    assert any(key.startswith("unions.") and key.endswith(f".{field}") for key in named), named
    body = client.get(url, headers=api).get_json()
    assert body["unions"] == [{"union": "VR", "member_number": "1"}]
    assert body["phone"] != "+354 000 0000"


def test_roles_and_missing_members(client, api, ctx):
    member = make_member(is_test=True)
    organiser = make_user("org@example.org", roles=["organiser"])
    _token, key = create_token(organiser, "wrong role")
    db.session.commit()
    assert client.get("/api/v1/members").status_code == 401
    assert (
        client.get("/api/v1/members", headers={"Authorization": f"Token {key}"}).status_code == 403
    )
    assert client.get(f"/api/v1/members/{member.id}", headers=api).status_code == 404  # test record
    assert client.get(f"/api/v1/members/{member.id}?include_test=1", headers=api).status_code == 200
    assert (
        client.get("/api/v1/members/999999", headers=api).get_json()["error"]["code"] == "not_found"
    )
    assert (
        client.patch(
            f"/api/v1/members/{member.id}?include_test=1", data="x", headers=api
        ).status_code
        == 400
    )


def test_openapi_describes_the_member_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/members"]) == {"get"}
    # (the generated description lists the path's member_id once, beside the operations)
    assert set(paths["/api/v1/members/{member_id}"]) - {"parameters"} == {"get", "patch"}
    assert paths["/api/v1/members/{member_id}"]["get"]["responses"]["200"]["content"]


def test_updated_since_sees_changes_to_unions_and_consents(client, api):
    from datetime import UTC, datetime, timedelta

    from app.members import consents

    member = make_member(full_name="Sync Me")
    db.session.commit()
    later = datetime.now(UTC) + timedelta(seconds=1)
    member.updated_at = later - timedelta(hours=1)  # as if unchanged for an hour
    db.session.commit()
    since = {"updated_since": (later - timedelta(minutes=1)).isoformat()}
    assert client.get("/api/v1/members", query_string=since, headers=api).get_json()["count"] == 0
    consents.set_consents(member.user, {"newsletter": True}, member.user_id)
    db.session.commit()
    found = client.get("/api/v1/members", query_string=since, headers=api).get_json()
    assert [m["full_name"] for m in found["results"]] == ["Sync Me"]
    bad = client.get("/api/v1/members?updated_since=yesterday", headers=api)
    assert bad.status_code == 422 and "updated_since" in bad.get_json()["error"]["fields"]


def _statements(app, client, url: str, headers: dict) -> tuple[int, dict]:
    """How many SQL statements one request runs, and its JSON body."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(seen), response.get_json()


def test_a_page_of_members_takes_the_same_queries_for_10_and_1000(app, client, api):
    from app.members import records
    from app.members.demo import generate
    from app.members.groups import join, save_group

    generate(1000, seed=3)
    group = save_group(None, name="Readers", slug="readers", kind="department")
    for n in range(3):
        member = make_member(
            full_name=f"Linked {n}", consents={"groupable": True, "newsletter": True}
        )
        records.update_record(
            member, {}, None, allowed=(), unions=[("BHM", str(n)), ("VR", f"9{n}")]
        )
        join(group, member, None, by_staff=True)
    db.session.commit()
    client.get("/api/v1/members?limit=1", headers=api)  # the token is looked up once, then cached
    small, small_body = _statements(app, client, "/api/v1/members?limit=10", api)
    large, large_body = _statements(app, client, "/api/v1/members?limit=1000", api)
    assert len(small_body["results"]) == 10 and len(large_body["results"]) == 1000
    assert large_body["count"] == 1003
    assert small == large, (small, large)
    linked = client.get("/api/v1/members?limit=3&offset=1000", headers=api).get_json()["results"]
    assert [m["full_name"] for m in linked] == ["Linked 0", "Linked 1", "Linked 2"]
    assert linked[1]["unions"] == [
        {"union": "BHM", "member_number": "1"},
        {"union": "VR", "member_number": "91"},
    ]
    assert linked[2]["groups"] == [{"slug": "readers", "role": "member"}]
    assert linked[0]["consents"]["newsletter"] is True
    assert linked[0]["consents"]["reachable"] is False
