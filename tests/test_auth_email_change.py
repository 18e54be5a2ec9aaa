"""Changing my e-mail address: password first, a single-use link to the new address, the old one
told in my language; one address, one account, even when two people confirm at once."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.auth.models import User
from app.core.mail import OutboxMessage
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, body_text, csrf_from, first_link, login, post_form


@pytest.fixture
def member(ctx):
    user = make_user("old@example.org", name="Ása", locale="is")
    db.session.commit()
    return user


def _is(message: str) -> str:
    """The Icelandic the member reads (the pages answer in her language), HTML-escaped."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with force_locale("is"):
        return str(escape(gettext(message)))


def _ask(client, new: str, password: str = PASSWORD):
    return post_form(client, "/account/email", {"email": new, "password": password})


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_change_takes_effect_only_when_the_link_is_followed(app, client, member, mailbox, run_jobs):
    login(client, "old@example.org")
    sent = _ask(client, "New@Example.org")
    assert sent.status_code == 200 and "new@example.org" in sent.get_data(as_text=True)
    db.session.refresh(member)
    assert member.email == "old@example.org"  # nothing changes yet
    run_jobs()
    [message] = mailbox.to("new@example.org")
    path = _path(first_link(message))
    page = client.get(path).get_data(as_text=True)
    assert "new@example.org" in page
    done = post_form(client, path, {}, follow_redirects=True)
    assert "new@example.org" in done.get_data(as_text=True)
    db.session.refresh(member)
    assert member.email == "new@example.org"

    run_jobs()
    [notice] = mailbox.to("old@example.org")
    assert "new@example.org" in body_text(notice)

    reused = client.get(path, follow_redirects=True)
    assert _is("This link is not valid or has already been used.") in reused.get_data(as_text=True)
    assert login(app.test_client(), "new@example.org").status_code == 302


def test_the_old_address_is_told_in_the_users_language(app, client, member, mailbox, run_jobs):
    login(client, "old@example.org")
    _ask(client, "nytt@example.org")
    run_jobs()
    path = _path(first_link(mailbox.to("nytt@example.org")[0]))
    post_form(client, path, {})
    run_jobs()
    [notice] = mailbox.to("old@example.org")
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "email_changed"))
    assert row.locale == "is"
    assert "nytt@example.org" in body_text(notice)


def test_wrong_password_changes_nothing_and_sends_nothing(app, client, member, mailbox, run_jobs):
    login(client, "old@example.org")
    refused = _ask(client, "new@example.org", "not my password")
    assert refused.status_code == 422 and _is("The password is wrong.") in refused.get_data(
        as_text=True
    )
    same = _ask(client, "old@example.org")
    assert same.status_code == 422 and _is("That is your address already.") in same.get_data(
        as_text=True
    )
    run_jobs()
    assert mailbox.to("new@example.org") == []


def test_an_altered_link_is_refused(app, client, member, mailbox, run_jobs):
    login(client, "old@example.org")
    _ask(client, "new@example.org")
    run_jobs()
    path = _path(first_link(mailbox.to("new@example.org")[0]))
    response = client.get(path[:-3] + "abc", follow_redirects=True)
    assert _is("This link is not valid or has already been used.") in response.get_data(
        as_text=True
    )
    db.session.refresh(member)
    assert member.email == "old@example.org"


def test_an_address_taken_meanwhile_gets_a_clear_error(app, client, member, mailbox, run_jobs):
    login(client, "old@example.org")
    _ask(client, "taken@example.org")
    run_jobs()
    path = _path(first_link(mailbox.to("taken@example.org")[0]))
    make_user("taken@example.org")
    db.session.commit()
    done = post_form(client, path, {}, follow_redirects=True)
    assert _is("Another account uses this address now. Choose another one.") in done.get_data(
        as_text=True
    )
    db.session.refresh(member)
    assert member.email == "old@example.org"


@pytest.mark.live
def test_two_people_confirming_one_address_at_once_one_wins(app, live_server, postgres):
    """Both links are valid; both confirmations arrive together; the unique index decides."""
    with app.app_context():
        first = make_user("first@example.org")
        second = make_user("second@example.org")
        db.session.commit()
        from app.auth import email_change

        for user in (first, second):
            email_change.request_change(user, "shared@example.org", PASSWORD)
        db.session.commit()
        links = [
            row.context["link"]
            for row in db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == "email_change")
                .order_by(OutboxMessage.id)
            )
        ]
        db.session.remove()
    assert len(links) == 2
    calls = []
    for link in links:
        url = live_server + _path(link)
        http = requests.Session()
        http.headers["Accept-Language"] = "en"  # signed out: the site's default would be Danish
        token = csrf_from(http.get(url).text)
        calls.append(
            lambda http=http, url=url, token=token: http.post(url, data={"csrf_token": token})
        )
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        answers = list(pool.map(run, calls))
    assert [a.status_code for a in answers] == [200, 200]  # redirects followed: no 500
    texts = [a.text for a in answers]
    assert sum("Your e-mail address is now shared@example.org" in t for t in texts) == 1
    assert sum("Another account uses this address now" in t for t in texts) == 1
    with app.app_context():
        owners = db.session.scalar(
            select(func.count(User.id)).where(User.email == "shared@example.org")
        )
        db.session.remove()
    assert owners == 1
    assert all(re.search(r"<html", t) for t in texts)
