"""Re-authentication: sensitive actions ask for the password (or a second factor) again when the
last check is older than 10 minutes."""

from datetime import date, timedelta

from sqlalchemy import update

from app.auth.models import SignInSession
from app.core.audit import AuditEntry
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, login, post_form
from tests.members_helpers import kennitala, make_member


def _age_the_check(minutes: int = 11) -> None:
    db.session.execute(
        update(SignInSession).values(verified_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def _confirm(client, target: str, password: str = PASSWORD):
    url = f"/auth/confirm?next={target}"
    return post_form(client, url, {"password": password}, page_url=url)


def _export(client):
    return client.get("/staff/members/export.csv", buffered=True)  # a streamed file


def test_member_export_asks_again_after_ten_minutes(app, client, ctx):
    make_user("export@example.org", roles=["membership"])
    db.session.commit()
    login(client, "export@example.org")
    assert _export(client).status_code == 200  # checked at login
    _age_the_check(9)
    assert _export(client).status_code == 200
    _age_the_check(11)
    asked = _export(client)
    assert asked.status_code == 302
    assert "/auth/confirm?next=/staff/members/export.csv" in asked.headers["Location"]
    wrong = _confirm(client, "/staff/members/export.csv", "not my password")
    assert wrong.status_code == 422 and "password is wrong" in wrong.get_data(as_text=True)
    right = _confirm(client, "/staff/members/export.csv")
    assert right.headers["Location"].endswith("/staff/members/export.csv")
    assert _export(client).status_code == 200


def test_revealing_a_national_id_asks_again(app, client, ctx):
    number = kennitala(date(1980, 5, 5))
    membership = make_member(national_id=number)
    make_user("reveal@example.org", roles=["membership"])
    db.session.commit()
    login(client, "reveal@example.org")
    _age_the_check()
    page = f"/staff/members/{membership.id}"
    asked = post_form(
        client, f"{page}/reveal", {}, page, headers={"Referer": f"http://localhost{page}"}
    )
    assert asked.status_code == 302 and f"/auth/confirm?next={page}" in asked.headers["Location"]
    assert not db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "member.national_id_revealed")
    ).all()
    _confirm(client, page)
    revealed = post_form(client, f"{page}/reveal", {}, page)
    assert f"{number[:6]}-{number[6:]}" in revealed.get_data(as_text=True)


def test_changing_roles_asks_again_but_reading_the_page_does_not(app, client, ctx):
    make_user("boss-reauth@example.org", roles=["admin"])
    target = make_user("target-reauth@example.org")
    db.session.commit()
    login(client, "boss-reauth@example.org")
    _age_the_check()
    assert client.get(f"/staff/users/{target.id}").status_code == 200
    asked = post_form(client, f"/staff/users/{target.id}", {"roles": ["admin"]})
    assert "/auth/confirm" in asked.headers["Location"]
    db.session.refresh(target)
    assert target.role_names == set()
    _confirm(client, f"/staff/users/{target.id}")
    post_form(client, f"/staff/users/{target.id}", {"roles": ["door"]})
    db.session.refresh(target)
    assert target.role_names == {"door"}


def test_creating_an_api_token_asks_again(app, client, ctx):
    admin = make_user("tokens-reauth@example.org", roles=["admin"])
    db.session.commit()
    login(client, "tokens-reauth@example.org")
    _age_the_check()
    data = {"user_id": admin.id, "name": "scanner", "scopes": ["checkin"]}
    asked = post_form(client, "/staff/tokens/", data)
    assert asked.status_code == 302 and "/auth/confirm" in asked.headers["Location"]
    _confirm(client, "/staff/tokens/")
    created = post_form(client, "/staff/tokens/", data)
    assert 'id="new-token"' in created.get_data(as_text=True)


def test_confirm_page_never_sends_elsewhere(app, client, ctx):
    make_user("redirect-reauth@example.org")
    db.session.commit()
    login(client, "redirect-reauth@example.org")
    response = _confirm(client, "https://evil.example/")
    assert response.headers["Location"].endswith("/account/security")
    assert "evil" not in response.headers["Location"]


def test_an_account_without_a_password_is_sent_to_set_up_a_second_factor(app, client, ctx):
    from app.auth.sign_in_methods import NO_PASSWORD

    user = make_user("sso-reauth@example.org")
    db.session.commit()
    login(client, "sso-reauth@example.org")
    user.password_hash = NO_PASSWORD  # as an account made by single sign-on
    db.session.commit()
    page = client.get("/auth/confirm?next=/account/security").get_data(as_text=True)
    assert "data-confirm-needs-factor" in page and "/account/security/totp" in page
    assert 'name="password"' not in page
