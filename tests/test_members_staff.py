"""Staff pages: directory search, filters, sorting, the record's edit audit, notes, access rules."""

import re
from datetime import date

import pytest

from app.core.audit import AuditEntry
from app.core.timeutil import local_today
from app.extensions import db
from app.members import groups
from app.members.models import StaffNote
from tests.factories import make_user
from tests.helpers import csrf_from, login, post_form
from tests.members_helpers import kennitala, make_member


@pytest.fixture
def staff_client(app, client, ctx):
    make_user("staff@example.org", "Sigga Staff", roles=["membership"])
    db.session.commit()
    login(client, "staff@example.org")
    return client


def _names(html: str) -> list[str]:
    body = html.split('id="member-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'/staff/members/\d+">([^<]+)</a>', body)


def test_directory_search_by_name_email_phone_and_exact_national_id(staff_client):
    number = kennitala(date(1988, 8, 8))
    gudrun = make_member(full_name="Guðrún Ólafsdóttir", phone="+354 611 2233", national_id=number)
    gudrun.user.email = "gudrun@example.is"
    make_member(full_name="Jens Hansen", phone="+45 20 30 40 50", municipality="Aarhus Kommune")
    make_member(full_name="Jón Gunnarsson", national_id=kennitala(date(1988, 8, 9)))
    db.session.commit()

    def search(q):
        return _names(
            staff_client.get("/staff/members/", query_string={"q": q}).get_data(as_text=True)
        )

    assert search("ólafs") == ["Guðrún Ólafsdóttir"]
    assert search("gudrun@example") == ["Guðrún Ólafsdóttir"]
    assert search("611 22") == ["Guðrún Ólafsdóttir"]
    assert search(f"{number[:6]}-{number[6:]}") == ["Guðrún Ólafsdóttir"]
    assert search(number[:6]) == []  # a national ID matches only exactly
    assert search("Jens Hansen") == ["Jens Hansen"]
    assert search("50%") == []  # wildcards in the query are literal


def test_directory_filters_sorting_paging_and_test_records(staff_client):
    a = make_member(full_name="Anna A", municipality="Kópavogsbær")
    make_member(full_name="Björn B", municipality="Kópavogsbær", status="applied")
    c = make_member(full_name="Cecilie C", municipality="Aarhus Kommune")
    make_member(full_name="Test Person", is_test=True)
    a.joined_on, c.joined_on = date(2010, 1, 1), date(2020, 6, 1)
    group = groups.save_group(None, name="Committee", kind="committee")
    groups.join(group, c, None, by_staff=True)
    db.session.commit()

    def names(**args):
        return _names(staff_client.get("/staff/members/", query_string=args).get_data(as_text=True))

    assert names() == ["Anna A", "Björn B", "Cecilie C"]
    assert names(include_test="1") == ["Anna A", "Björn B", "Cecilie C", "Test Person"]
    assert names(status="applied") == ["Björn B"]
    assert names(municipality="Kópavogsbær") == ["Anna A", "Björn B"]
    assert names(group=str(group.id)) == ["Cecilie C"]
    assert names(joined_from="2015-01-01") == ["Cecilie C"]
    assert names(joined_to="2015-01-01") == ["Anna A"]
    assert names(sort="-name") == ["Cecilie C", "Björn B", "Anna A"]
    assert names(sort="-joined")[:2] == ["Cecilie C", "Anna A"]
    page = staff_client.get("/staff/members/").get_data(as_text=True)
    assert "3 members found" in page
    for i in range(50):
        make_member(full_name=f"Zed {i:02d}")
    db.session.commit()
    second = staff_client.get("/staff/members/", query_string={"page": 2}).get_data(as_text=True)
    assert _names(second) == ["Zed 47", "Zed 48", "Zed 49"]


def test_staff_edit_is_audited_field_by_field(staff_client):
    member = make_member(
        full_name="Old Name", phone="+354 555 0000", national_id=kennitala(date(1970, 7, 7))
    )
    db.session.commit()
    url = f"/staff/members/{member.id}/edit"
    form = staff_client.get(url).get_data(as_text=True)
    assert "Old Name" in form
    data = {
        "full_name": "New Name",
        "phone": "+354 555 0000",
        "country": "IS",
        "national_id_country": "IS",
        "status": "active",
        "joined_on": member.joined_on.isoformat(),
        "birthday": "1970-07-07",
        "street": "Laugavegur",
        "house_number": "12",
        "postal_code": "101",
        "city": "Reykjavík",
        "municipality": "Reykjavíkurborg",
        "region": "Höfuðborgarsvæðið",
        "job_title": "Teacher",
        "reachable": "y",
        "groupable": "y",
        "unions": "Efling: 1",
    }
    response = post_form(staff_client, url, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(member)
    assert member.full_name == "New Name" and member.job_title == "Teacher"
    [entry] = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "member.updated")
    ).all()
    assert entry.actor.email == "staff@example.org" and entry.subject_user_id == member.user_id
    assert entry.before == {"full_name": "Old Name", "job_title": "Nurse", "unions": []}
    assert entry.after == {
        "full_name": "New Name",
        "job_title": "Teacher",
        "unions": [["Efling", "1"]],
    }
    assert entry.at is not None

    page = staff_client.get(f"/staff/members/{member.id}").get_data(as_text=True)
    trail = page.split('id="audit-h"', 1)[1]
    assert "member.updated" in trail and "Old Name" in trail and "New Name" in trail

    # a bad value saves nothing
    bad = post_form(staff_client, url, {**data, "full_name": "Other", "birthday": "2999-01-01"})
    assert bad.status_code == 200 and "cannot be in the future" in bad.get_data(as_text=True)
    db.session.refresh(member)
    assert member.full_name == "New Name"
    taken = make_member(national_id=kennitala(date(1960, 6, 6)))
    db.session.commit()
    clash = post_form(
        staff_client, url, {**data, "birthday": "", "national_id": kennitala(date(1960, 6, 6))}
    )
    assert "already in use" in clash.get_data(as_text=True)
    db.session.refresh(member)
    assert member.national_id_hash != taken.national_id_hash
    assert member.birthday == date(1970, 7, 7)


def test_staff_notes_with_tags_are_for_staff_only(staff_client, app):
    member = make_member()
    member.user.email = "noted@example.org"
    db.session.commit()
    url = f"/staff/members/{member.id}"
    post_form(
        staff_client, f"{url}/notes", {"text": "Called about fees", "tags": "Fees, phone"}, url
    )
    note = db.session.scalar(db.select(StaffNote))
    assert note.text == "Called about fees" and note.tags == ["fees", "phone"]
    assert "Called about fees" in staff_client.get(url).get_data(as_text=True)
    own = app.test_client()
    login(own, "noted@example.org")
    assert "Called about fees" not in own.get("/members/me").get_data(as_text=True)
    assert own.get(url).status_code == 403


def test_titles_over_time_and_the_board(staff_client, client):
    chair = make_member(full_name="Chair Person")
    old = make_member(full_name="Former Chair")
    group = groups.save_group(None, name="Youth", kind="committee")
    db.session.commit()
    url = f"/staff/members/{chair.id}"
    post_form(
        staff_client,
        f"{url}/titles",
        {"kind": "chair", "group_id": "", "starts_on": "2024-01-01"},
        url,
    )
    post_form(
        staff_client,
        f"{url}/titles",
        {
            "kind": "custom",
            "custom_title": "Webmaster",
            "group_id": str(group.id),
            "starts_on": "2024-01-01",
        },
        url,
    )
    bad = post_form(
        staff_client,
        f"{url}/titles",
        {"kind": "treasurer", "group_id": "", "starts_on": "2024-05-01", "ends_on": "2024-01-01"},
        url,
    )
    assert bad.status_code == 422
    post_form(
        staff_client,
        f"/staff/members/{old.id}/titles",
        {"kind": "chair", "group_id": "", "starts_on": "2020-01-01", "ends_on": "2023-12-31"},
        f"/staff/members/{old.id}",
    )
    board = client.get("/members/board").get_data(as_text=True)
    assert "Chair Person" in board and 'data-title="chair"' in board
    assert "Former Chair" not in board  # that title ended
    assert "Webmaster" not in board  # a group's title is not the board's
    title = chair.titles[0]
    post_form(
        staff_client, f"{url}/titles/{title.id}/end", {"ends_on": local_today().isoformat()}, url
    )
    db.session.refresh(title)
    assert title.ends_on == local_today()


def test_only_membership_staff_reach_every_staff_members_route(app, client, ctx):
    member = make_member()
    member.user.email = "member@example.org"
    make_user("organiser@example.org", roles=["organiser"])
    make_user("door@example.org", roles=["door"])
    make_user("staff@example.org", roles=["membership"])
    make_user("admin@example.org", roles=["admin"])
    link_group = groups.save_group(None, name="G", kind="cell")
    db.session.commit()
    values = {
        "member_id": member.id,
        "link_id": 1,
        "title_id": 1,
        "group_id": link_group.id,
        "import_id": 1,
    }
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff/members"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, path))
    assert len(routes) >= 20  # every staff route of the domain, found in the URL map
    anonymous = app.test_client()
    token = {"csrf_token": csrf_from(anonymous.get("/auth/login").get_data(as_text=True))}
    for method, path in routes:
        response = anonymous.open(path, method=method, data=token if method == "POST" else None)
        assert response.status_code == 302 and "/auth/login" in response.location, path

    def client_for(email):
        other = app.test_client()
        login(other, email)
        # a valid CSRF token, so that a refusal comes from the role check and not from CSRF
        token = csrf_from(other.get("/account").get_data(as_text=True))
        return other, {"csrf_token": token}

    for email in ("member@example.org", "organiser@example.org", "door@example.org"):
        other, data = client_for(email)
        for method, path in routes:
            response = other.open(path, method=method, data=data if method == "POST" else None)
            assert response.status_code == 403, (email, method, path)
    for email in ("staff@example.org", "admin@example.org"):
        allowed, data = client_for(email)
        for method, path in routes:
            if method == "GET":
                # buffered: the CSV export streams, and is read to its end inside the request
                response = allowed.get(path, buffered=True)
                assert response.status_code in (200, 404), (email, path)


def test_a_member_sees_only_their_own_record(app, client, ctx):
    mine = make_member(full_name="Me Myself", phone="+354 111 1111")
    theirs = make_member(full_name="Someone Else", phone="+354 999 9999")
    mine.user.email = "me@example.org"
    db.session.commit()
    login(client, "me@example.org")
    page = client.get("/members/me").get_data(as_text=True)
    assert "Me Myself" in page and "Someone Else" not in page and "999 9999" not in page
    assert client.get(f"/staff/members/{theirs.id}").status_code == 403
    assert client.get(f"/staff/members/{theirs.id}/edit").status_code == 403
    data = client.get("/account/data.json").get_json()
    assert data["membership"]["full_name"] == "Me Myself"
