"""A membership's status changes only through its lifecycle: approve, reject, end, reactivate.
Neither the staff edit form nor the member API sets it directly."""

from __future__ import annotations

import pytest

from app.api.services import create_token
from app.core.errors import DomainError
from app.core.mail import OutboxMessage
from app.core.timeutil import local_today
from app.extensions import db
from app.members import groups, lifecycle, records, titles
from app.members.models import GroupMember, Membership
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member


@pytest.fixture
def staff_client(app, client, ctx):
    make_user("staff@example.org", "Sigga Staff", roles=["membership"])
    db.session.commit()
    login(client, "staff@example.org")
    return client


def test_the_api_refuses_a_status_change_and_saves_nothing(client, ctx):
    sync = make_user("sync@example.org", roles=["membership"])
    _token, key = create_token(sync, "sync")
    member = make_member(full_name="Jón Staða", phone="+354 555 1234")
    db.session.commit()
    answer = client.patch(
        f"/api/v1/members/{member.id}",
        json={"status": "resigned", "phone": "+354 000 0000"},
        headers={"Authorization": f"Token {key}"},
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert list(error["fields"]) == ["status"] and "approve" in error["fields"]["status"][0]
    db.session.expire_all()
    fresh = db.session.get(Membership, member.id)
    assert fresh.status == "active" and fresh.phone == "+354 555 1234"
    statuses = list(_member_status_schemas(client.get("/api/v1/openapi.json").get_json()))
    assert statuses and all(s.get("readOnly") is True for s in statuses)


def _member_status_schemas(node):
    """Every schema of a member's status in the OpenAPI document."""
    if isinstance(node, dict):
        status = node.get("properties", {}).get("status")
        if isinstance(status, dict) and "resigned" in status.get("enum", []):
            yield status
        for value in node.values():
            yield from _member_status_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _member_status_schemas(value)


def test_the_record_service_refuses_a_status(ctx):
    member = make_member()
    with pytest.raises(DomainError) as refused:
        records.update_record(member, {"status": "resigned"}, None, allowed=records.STAFF_FIELDS)
    assert refused.value.field == "status"
    assert member.status == "active"


def test_the_staff_form_has_no_status_and_ignores_one_sent(staff_client):
    member = make_member(full_name="Gunna Form")
    db.session.commit()
    url = f"/staff/members/{member.id}/edit"
    page = staff_client.get(url).get_data(as_text=True)
    assert 'name="status"' not in page
    data = {
        "full_name": "Gunna Form",
        "country": "IS",
        "national_id_country": "IS",
        "status": "resigned",
        "reachable": "y",
        "groupable": "y",
    }
    assert post_form(staff_client, url, data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, member.id).status == "active"


def test_ending_takes_the_member_out_of_groups_and_titles_and_reactivating_brings_back(
    staff_client,
):
    member = make_member(full_name="Lilja Aftur")
    group = groups.save_group(None, name="Ritnefnd", kind="committee")
    groups.join(group, member, None, by_staff=True)
    titles.add_title(member, "treasurer", "2024-01-01")
    db.session.commit()
    url = f"/staff/members/{member.id}"

    post_form(staff_client, f"{url}/end", {"reason": "Moved"}, page_url=url)
    db.session.expire_all()
    member = db.session.get(Membership, member.id)
    assert member.status == "resigned" and member.ended_on == local_today()
    assert db.session.scalar(db.select(db.func.count(GroupMember.id))) == 0
    assert all(t.ends_on == local_today() for t in member.titles)

    page = staff_client.get(url).get_data(as_text=True)
    assert 'id="reactivate"' in page
    post_form(staff_client, f"{url}/reactivate", {"reason": "Came back"}, page_url=url)
    db.session.expire_all()
    member = db.session.get(Membership, member.id)
    assert member.status == "active" and member.ended_on is None
    assert member.joined_on == local_today()
    assert member.history[-1].action == "reactivated" and member.history[-1].reason == "Came back"
    welcome = db.session.scalars(
        db.select(OutboxMessage).where(
            OutboxMessage.user_id == member.user_id,
            OutboxMessage.template == "membership_welcome",
        )
    ).all()
    assert len(welcome) == 2  # on approval, and again on coming back
    # Only an ended membership can be reactivated.
    with pytest.raises(DomainError):
        lifecycle.reactivate(member, None)
