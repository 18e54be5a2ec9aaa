"""Visitors get public pages without a session cookie; a session that holds something is permanent.

Found by the foundation benchmark (bench/README.md): signing a cookie for every anonymous visitor
cost about a fifth of the home page's time.
"""

import re

from sqlalchemy import event

from app.extensions import db
from tests.factories import make_user
from tests.helpers import login


def _session_cookie(response) -> str | None:
    cookies = response.headers.getlist("Set-Cookie")
    return next((c for c in cookies if c.startswith("session=")), None)


def test_home_sends_a_visitor_no_session_cookie(client):
    response = client.get("/")
    assert response.status_code == 200
    assert _session_cookie(response) is None
    assert "csrf_token" not in response.get_data(as_text=True)


def test_visitor_language_menu_switches_the_language(client):
    html = client.get("/").get_data(as_text=True)
    item = r'<a class="dropdown-item[^"]*" lang="is"\s+data-lang="is" href="([^"]+)"'
    link = re.search(item, html)
    assert link, "the language menu offers Icelandic"
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="is">' in page


def test_a_session_with_content_is_permanent(client):
    client.get("/auth/login")  # the login form's CSRF token lives in the session
    cookie = _session_cookie(client.get("/auth/login"))
    assert cookie and "Expires=" in cookie  # so the idle timeout applies


def test_logged_in_session_is_refreshed_on_every_page(client, ctx):
    make_user("sessions@example.org")
    db.session.commit()
    login(client, "sessions@example.org")
    cookie = _session_cookie(client.get("/"))
    assert cookie and "Expires=" in cookie
    html = client.get("/").get_data(as_text=True)
    assert 'data-lang="is"' in html and "csrf_token" in html  # members' menu saves the choice


def test_signed_in_page_loads_user_and_roles_in_one_query(client, ctx):
    make_user("roles@example.org", name="Door Person", roles=["door"])
    db.session.commit()
    login(client, "roles@example.org")
    db.session.expunge_all()  # the request must load the user itself
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = client.get("/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "Door Person" in html
    # The session row, the user and the roles: one statement (app/auth/sessions.py).
    user_loads = [s for s in statements if "users" in s and "sign_in_sessions" in s]
    assert len(user_loads) == 1 and "user_roles" in user_loads[0]
    assert not [s for s in statements if "FROM users" in s or "FROM user_roles" in s]
