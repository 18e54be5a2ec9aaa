"""Admins list, search and change roles; every change is audit-logged."""

from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import make_user
from tests.helpers import login, post_form


def test_admin_searches_users_and_grants_roles_with_an_audit_entry(client, ctx):
    admin = make_user("boss@example.org", name="Boss", roles=["admin"])
    target = make_user("vol@example.org", name="Volunteer Vigdís")
    make_user("other@example.org", name="Someone Else")
    db.session.commit()
    login(client, "boss@example.org")
    listing = client.get("/staff/users/?q=vigd").get_data(as_text=True)
    assert "Volunteer Vigdís" in listing and "Someone Else" not in listing

    response = post_form(
        client, f"/staff/users/{target.id}", {"roles": ["door", "organiser"]}, follow_redirects=True
    )
    assert "The roles are saved" in response.get_data(as_text=True)
    db.session.expire_all()
    assert target.role_names == {"door", "organiser"}
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="user.roles_changed"))
    assert entry.actor_id == admin.id and entry.subject_user_id == target.id
    assert entry.before == {"roles": []}
    assert entry.after == {"roles": ["door", "organiser"]}
    assert "user.roles_changed" in client.get("/staff/audit/").get_data(as_text=True)

    post_form(client, f"/staff/users/{target.id}", {"roles": ["door"]})
    db.session.expire_all()
    assert target.role_names == {"door"}


def test_admin_cannot_remove_own_admin_role(client, ctx):
    admin = make_user("solo@example.org", roles=["admin"])
    db.session.commit()
    login(client, "solo@example.org")
    response = post_form(client, f"/staff/users/{admin.id}", {"roles": []})
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.role_names == {"admin"}


def test_door_volunteer_reaches_staff_home_but_not_users(client, ctx):
    make_user("door@example.org", roles=["door"])
    db.session.commit()
    login(client, "door@example.org")
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/users/").status_code == 403


def test_unknown_role_is_refused(client, ctx):
    make_user("boss2@example.org", roles=["admin"])
    target = make_user("t2@example.org")
    db.session.commit()
    login(client, "boss2@example.org")
    response = post_form(client, f"/staff/users/{target.id}", {"roles": ["emperor"]})
    assert response.status_code == 200
    db.session.expire_all()
    assert target.role_names == set()


def test_admin_revokes_a_token_and_is_told_how_soon_it_stops_working(client, ctx):
    from app.api.models import ApiToken
    from app.api.services import create_token

    admin = make_user(roles=["admin"])
    volunteer = make_user(roles=["door"])
    token, key = create_token(volunteer, "lost phone")
    db.session.commit()
    login(client, admin.email)
    response = post_form(
        client,
        f"/staff/tokens/{token.id}/revoke",
        {},
        page_url="/staff/tokens/",
        follow_redirects=True,
    )
    assert "The token is revoked." in response.get_data(as_text=True)
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Token {key}"}).status_code == 401
