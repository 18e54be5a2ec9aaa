"""The audit log records addresses, logins, failed logins, logouts and refused access without
personal identifiers in clear; seed-demo refuses in production."""

from app.api.services import create_token
from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import make_user
from tests.helpers import login, post_form

ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}


def _client(app, environ_base=None):
    client = app.test_client()
    client.environ_base.update(environ_base or {})
    return client


def _entries(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(db.select(AuditEntry).filter_by(action=action).order_by(AuditEntry.id))
    )


def test_logins_failed_logins_and_logouts_are_recorded_with_the_address(app, ctx):
    user = make_user("member@example.org")
    closed = make_user("closed@example.org")
    closed.is_active_account = False
    db.session.commit()
    client = _client(app, ADDRESS)

    login(client, "member@example.org", "wrong password")
    login(client, "nobody@example.net", "whatever it is")
    login(client, "closed@example.org")
    login(client, "member@example.org")
    post_form(client, "/auth/logout", {}, page_url="/account")

    failed = _entries("auth.login_failed")
    assert [(e.after["reason"], e.subject_user_id) for e in failed] == [
        ("password", user.id),
        ("unknown_account", None),
        ("closed", closed.id),
    ]
    assert all(e.address == "198.51.100.7" for e in failed)
    [logged_in] = _entries("auth.login")
    [logged_out] = _entries("auth.logout")
    assert (logged_in.actor_id, logged_in.address) == (user.id, "198.51.100.7")
    assert (logged_out.actor_id, logged_out.address) == (user.id, "198.51.100.7")


def test_an_unknown_address_is_kept_only_as_a_keyed_hash(app, ctx):
    client = _client(app, ADDRESS)
    login(client, "Stranger@Example.net", "whatever it is")
    login(client, "stranger@example.net", "another try")
    first, second = _entries("auth.login_failed")
    stored = f"{first.before} {first.after}".lower()
    assert "stranger" not in stored and "example.net" not in stored
    assert first.after["email_hash"] == second.after["email_hash"]  # repeated tries line up
    assert len(first.after["email_hash"]) == 32


def test_refused_access_is_recorded_for_pages_and_the_api(app, ctx):
    member = make_user("member@example.org")
    _t, key = create_token(member, "script")
    db.session.commit()
    client = _client(app, ADDRESS)
    login(client, "member@example.org")
    assert client.get("/staff/users/").status_code == 403
    api = client.get("/api/v1/members", headers={"Authorization": f"Token {key}"})
    assert api.status_code == 403
    page, api_entry = _entries("access.refused")
    assert (page.actor_id, page.address) == (member.id, "198.51.100.7")
    assert page.after == {"method": "GET", "path": "/staff/users/"}
    assert api_entry.actor_id == member.id
    assert api_entry.after["path"] == "/api/v1/members"
    assert api_entry.after["token"] == key[:8]


def test_the_staff_audit_page_shows_security_events_readably(app, ctx):
    make_user("admin@example.org", roles=["admin"])
    db.session.commit()
    stranger = _client(app, ADDRESS)
    login(stranger, "nobody@example.net", "whatever it is")
    admin = app.test_client()
    login(admin, "admin@example.org")
    html = admin.get("/staff/audit/").get_data(as_text=True)
    assert "A login failed" in html and "Failed login: no account with that address" in html
    assert "198.51.100.7" in html
    assert "Test Person" in html and " logged in" in html  # "<name> logged in"
    assert "nobody@example.net" not in html
    failed_row = html.split('data-action="auth.login_failed"', 1)[1].split("</tr>", 1)[0]
    assert "System" not in failed_row  # a visitor's failed login, not the system's work
    filtered = admin.get("/staff/audit/?action=auth.login_failed").get_data(as_text=True)
    assert "A login failed" in filtered and " logged in" not in filtered


def test_seed_demo_refuses_in_production(app, ctx, monkeypatch):
    monkeypatch.setenv("FELAG_ENV", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_a_refusal_keeps_ids_but_no_code_from_the_url(app):
    from app.core.audit import _path_without_secrets

    with app.test_request_context("/staff/users/42"):
        assert _path_without_secrets() == "/staff/users/42"
    with app.test_request_context("/tickets/secret-code"):
        assert _path_without_secrets() == "/tickets/<code>"
