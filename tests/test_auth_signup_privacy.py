"""Sign-up does not reveal whether an address has an account; its owner is told by e-mail."""

import re

from app.auth import passwords
from app.auth.models import User
from app.core.mail import OutboxMessage
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, body_text, post_form


def _signup(client, email: str, name: str = "Someone Else"):
    return post_form(
        client,
        "/auth/register",
        {
            "name": name,
            "email": email,
            "password": PASSWORD + " 2",
            "password_confirm": PASSWORD + " 2",
            "accept_privacy": "y",
        },
    )


def _page(response) -> str:
    """The page without what differs between any two requests (CSRF token, the address)."""
    html = response.get_data(as_text=True)
    html = re.sub(r'(name="csrf-token" content=|name="csrf_token"[^>]*value=)"[^"]+"', "", html)
    return re.sub(r"[\w.+-]+@example\.org", "ADDRESS", html)


def test_signup_with_a_taken_address_looks_the_same_and_tells_the_owner(
    app, client, ctx, mailbox, run_jobs, monkeypatch
):
    owner = make_user("taken@example.org", name="Owner Person", locale="en")
    db.session.commit()
    hashed = []
    original_hash = passwords.hash_password
    monkeypatch.setattr(
        passwords, "hash_password", lambda pw: hashed.append(pw) or original_hash(pw)
    )

    fresh = _signup(app.test_client(), "fresh@example.org")
    taken = _signup(app.test_client(), "TAKEN@example.org")

    assert fresh.status_code == taken.status_code == 200
    assert _page(fresh) == _page(taken)
    assert "already exists" not in taken.get_data(as_text=True)
    assert len(hashed) == 2  # the same slow password hash either way
    assert db.session.scalar(db.select(User).filter_by(email="taken@example.org")).name == (
        "Owner Person"
    )
    assert passwords.verify_password(owner.password_hash, PASSWORD)  # the password is unchanged

    run_jobs()
    [notice] = mailbox.to("taken@example.org")
    assert notice["Subject"] == "Someone tried to sign up with your e-mail address"
    text = body_text(notice)
    assert "Hello Owner Person" in text
    assert "/auth/reset" in text and "/auth/login" in text
    assert len(mailbox.to("fresh@example.org")) == 1  # the new account's verification


def test_signup_notice_goes_out_in_the_owners_language_once_an_hour(app, ctx, mailbox, run_jobs):
    make_user("eigandi@example.org", locale="is")
    db.session.commit()
    for _ in range(3):
        _signup(app.test_client(), "eigandi@example.org")
    [row] = db.session.scalars(db.select(OutboxMessage).filter_by(template="signup_attempt"))
    assert row.locale == "is"  # rendered in Icelandic once the catalogs have the new strings
    run_jobs()
    assert len(mailbox.to("eigandi@example.org")) == 1


def test_signup_with_an_unconfirmed_address_sends_the_confirmation_again(
    app, ctx, mailbox, run_jobs
):
    make_user("pending@example.org", verified=False)
    db.session.commit()
    response = _signup(app.test_client(), "pending@example.org")
    assert "Check your e-mail" in response.get_data(as_text=True)
    run_jobs()
    [message] = mailbox.to("pending@example.org")
    assert "/auth/verify/" in body_text(message)
