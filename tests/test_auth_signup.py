"""Sign-up, e-mail verification, login, profile, logout, password reset."""

from app.auth.models import User
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, first_link, login, post_form

SIGNUP = {
    "name": "Þóra Jónsdóttir",
    "email": "thora@example.is",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "accept_privacy": "y",
}


def _confirm(client, link: str):
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    return post_form(client, "/" + path, {}, follow_redirects=True)


def test_signup_verify_login_profile_logout(client, app, mailbox, run_jobs):
    response = post_form(client, "/auth/register", SIGNUP)
    assert response.status_code == 200
    assert "thora@example.is" in response.get_data(as_text=True)
    run_jobs()
    [message] = mailbox.to("thora@example.is")
    link = first_link(message)

    refused = login(client, "thora@example.is")
    assert "Confirm your e-mail address first" in refused.get_data(as_text=True)

    confirmed = _confirm(client, link).get_data(as_text=True)
    assert "confirmed" in confirmed
    assert "Hello, Þóra Jónsdóttir" in confirmed  # the link signs the person in

    response = post_form(
        client,
        "/account/profile",
        {"name": "Þóra J.", "locale": "is", "submit": "1"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="thora@example.is"))
        assert (user.name, user.locale) == ("Þóra J.", "is")
        assert user.privacy_accepted_at is not None

    response = post_form(client, "/auth/logout", {}, page_url="/account")
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_verification_link_is_single_use(client, mailbox, run_jobs):
    post_form(client, "/auth/register", SIGNUP)
    run_jobs()
    link = first_link(mailbox.to("thora@example.is")[0])
    _confirm(client, link)
    again = _confirm(client, link)
    assert "not valid or has already been used" in again.get_data(as_text=True)


def test_signup_refuses_weak_password_and_missing_consent(client, ctx):
    weak = post_form(
        client,
        "/auth/register",
        {**SIGNUP, "password": "qwertyuiop", "password_confirm": "qwertyuiop"},
    )
    assert "too common" in weak.get_data(as_text=True)
    own_email = post_form(
        client,
        "/auth/register",
        {**SIGNUP, "password": "thora@example.is", "password_confirm": "thora@example.is"},
    )
    assert "e-mail address as your password" in own_email.get_data(as_text=True)
    no_consent = {k: v for k, v in SIGNUP.items() if k != "accept_privacy"}
    response = post_form(client, "/auth/register", no_consent)
    assert "must accept the privacy policy" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_password_reset_flow_and_link_reuse(client, ctx, mailbox, run_jobs):
    make_user("reset@example.org")
    db.session.commit()
    response = post_form(
        client, "/auth/reset", {"email": "reset@example.org"}, follow_redirects=True
    )
    unknown = post_form(
        client, "/auth/reset", {"email": "nobody@example.org"}, follow_redirects=True
    )
    assert response.get_data(as_text=True).count("If an account uses that address") == 1
    assert unknown.status_code == response.status_code
    run_jobs()
    [message] = mailbox.to("reset@example.org")
    path = "/" + first_link(message).split("://", 1)[1].split("/", 1)[1]
    new = "a brand new passphrase"
    done = post_form(
        client, path, {"password": new, "password_confirm": new}, follow_redirects=True
    )
    assert "Your password is changed" in done.get_data(as_text=True)
    assert client.get("/account").status_code == 200  # signed in with a new session
    post_form(client, "/auth/logout", {}, page_url="/account")
    assert login(client, "reset@example.org", new).status_code == 302
    reused = client.get(path, follow_redirects=True)
    assert "not valid or has already been used" in reused.get_data(as_text=True)
