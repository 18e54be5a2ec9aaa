"""Login protection, rate limits, safe redirects, CSRF, sessions and staff access."""

import re

import pytest

from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, csrf_from, login, post_form


@pytest.fixture
def member(ctx):
    user = make_user("member@example.org")
    db.session.commit()
    return user


def test_five_failures_lock_the_account_for_that_address_only(app, member):
    attacker = app.test_client()
    for _ in range(5):
        response = login(attacker, "member@example.org", "wrong password!!")
        assert "Wrong e-mail address or password" in response.get_data(as_text=True)
    locked = login(attacker, "member@example.org")  # even the right password is refused now
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert locked.status_code == 200

    elsewhere = app.test_client()
    ok = login(elsewhere, "member@example.org", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert ok.status_code == 302


def test_login_posts_are_rate_limited_per_address(app, member):
    app.config["AUTH_POST_LIMIT"] = "3 per minute"
    try:
        client = app.test_client()
        statuses = [
            login(
                client, f"nobody{i}@example.org", environ_base={"REMOTE_ADDR": "10.1.1.1"}
            ).status_code
            for i in range(4)
        ]
    finally:
        app.config["AUTH_POST_LIMIT"] = "30 per minute"
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_only_posts_count_against_the_auth_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTH_POST_LIMIT", "2 per minute")
    client = app.test_client()
    address = {"REMOTE_ADDR": "10.1.1.2"}
    pages = [client.get("/auth/login", environ_base=address).status_code for _ in range(5)]
    assert pages == [200] * 5
    posts = [login(client, "x@example.org", environ_base=address).status_code for _ in range(3)]
    assert posts == [200, 200, 429]
    # Another address has its own allowance.
    assert (
        login(client, "x@example.org", environ_base={"REMOTE_ADDR": "10.1.1.3"}).status_code == 200
    )


def test_forwarded_for_is_ignored_without_proxy_hops(app, member):
    client = app.test_client()
    for i in range(5):
        login(
            client,
            "member@example.org",
            "wrong password!!",
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        )
    locked = login(client, "member@example.org", headers={"X-Forwarded-For": "192.0.2.99"})
    assert "Too many failed attempts" in locked.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_parameter_stays_local(client, member, target):
    response = post_form(
        client, f"/auth/login?next={target}", {"email": "member@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


def test_next_parameter_local_path_is_followed(client, member):
    response = post_form(
        client,
        "/auth/login?next=/account/profile",
        {"email": "member@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/account/profile"


def test_post_without_csrf_token_is_refused(client, member):
    response = client.post(
        "/auth/login", data={"email": "member@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/account").status_code == 302  # not logged in


def _session_cookie(client):
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_session_is_renewed_at_login(client, member):
    client.get("/auth/login")
    before = _session_cookie(client)
    assert before
    login(client, "member@example.org")
    after = _session_cookie(client)
    assert after and after != before
    with client.session_transaction() as session:
        assert session.get("_user_id")
        assert "csrf_token" not in session  # nothing from the anonymous session survives


def test_session_cookie_flags(client, member):
    response = login(client, "member@example.org")
    header = "; ".join(response.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_password_change_needs_the_current_password(client, member):
    login(client, "member@example.org")
    response = post_form(
        client,
        "/account/password",
        {
            "pw-current_password": "not my password",
            "pw-password": "x" * 12,
            "pw-password_confirm": "x" * 12,
        },
        page_url="/account/security",
    )
    assert "current password is wrong" in response.get_data(as_text=True)


def staff_rules(app):
    return sorted(
        {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")}
    )


def _fill(rule: str) -> str:
    rule = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule)  # <any(csv, xlsx):fmt> -> csv
    return re.sub(r"<(?:int:)?(\w+)>", "1", re.sub(r"<path:\w+>", "x", rule))


def test_every_staff_route_refuses_a_plain_member(app, client, member):
    login(client, "member@example.org")
    token = csrf_from(client.get("/account").get_data(as_text=True))
    rules = staff_rules(app)
    assert "/staff/users/" in rules and "/staff/jobs/" in rules
    # Routes of the nested domain blueprints are in the list as well.
    assert {"/staff/door/", "/staff/events/", "/staff/members/", "/staff/polls/"} <= set(rules)
    for rule in rules:
        for method in ("GET", "POST"):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(_fill(rule), method=method, data=data)
            assert response.status_code in (403, 405), (rule, method, response.status_code)


def test_staff_routes_send_anonymous_visitors_to_login(app, client):
    for rule in staff_rules(app):
        response = client.get(_fill(rule))
        assert response.status_code in (302, 405), rule
        if response.status_code == 302:
            assert "/auth/login" in response.headers["Location"]


def test_every_staff_view_checks_a_role(app):
    blueprints = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff"):
            view = app.view_functions[rule.endpoint]
            assert getattr(view, "required_roles", None), rule.rule
            blueprints.add(rule.endpoint.rpartition(".")[0])
    # The domains' staff blueprints nested under `staff` are found too, not only `staff` itself.
    assert {"staff", "staff.checkin", "staff.events", "staff.members", "staff.polls"} <= blueprints


def test_security_headers_on_pages(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_passwords_are_stored_with_argon2(ctx, member):
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash


def test_login_form_keeps_csrf_token_per_session(client):
    token_a = csrf_from(client.get("/auth/login").get_data(as_text=True))
    assert token_a
