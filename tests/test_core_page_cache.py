"""Visitors' public pages are kept briefly per process (app/core/page_cache.py, issue 13)."""

from __future__ import annotations

import pytest

from app.core import page_cache
from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import StatementCounter, login


@pytest.fixture
def cached(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_PAGE_CACHE_SECONDS", 10)
    page_cache.forget()
    yield
    page_cache.forget()


def _visitor(app, lang: str = "en"):
    client = app.test_client()
    client.set_cookie("lang", lang)
    return client


def test_a_visitor_gets_the_kept_page_without_a_query(app, ctx, cached):
    make_event("Harbour walk")
    db.session.commit()
    first = _visitor(app).get("/events/")
    with StatementCounter(app) as counter:
        again = _visitor(app).get("/events/")
    assert again.status_code == 200 and "Harbour walk" in again.get_data(as_text=True)
    assert again.get_data() == first.get_data()
    assert counter.statements == []
    assert again.headers["X-Frame-Options"] == "DENY"  # the after-request hooks still run
    assert "Set-Cookie" not in again.headers


def test_a_change_committed_here_shows_at_once(app, ctx, cached):
    event = make_event("Harbour walk")
    db.session.commit()
    _visitor(app).get("/events/")
    event.title = "Harbour walk at dusk"
    db.session.commit()
    assert "Harbour walk at dusk" in _visitor(app).get("/events/").get_data(as_text=True)


def test_a_kept_page_runs_out(app, ctx, cached, monkeypatch):
    make_event("Harbour walk")
    db.session.commit()
    _visitor(app).get("/")
    with StatementCounter(app) as counter:
        _visitor(app).get("/")
    assert counter.statements == []
    later = page_cache.time.monotonic() + 11
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: later)
    with StatementCounter(app) as counter:
        assert _visitor(app).get("/").status_code == 200
    assert counter.statements, "an expired page is rendered again"


def test_each_language_has_its_own_copy(app, ctx, cached):
    make_event("Harbour walk")
    db.session.commit()
    english = _visitor(app, "en").get("/events/").get_data(as_text=True)
    danish = _visitor(app, "da").get("/events/").get_data(as_text=True)
    icelandic = _visitor(app, "is").get("/events/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert '<html lang="da">' in danish
    assert '<html lang="is">' in icelandic


def test_people_signed_in_never_get_or_fill_the_visitors_copy(app, client, ctx, cached):
    member = make_user("kept@example.org", name="Kept Member")
    make_event("Harbour walk")
    db.session.commit()
    _visitor(app).get("/")
    login(client, member.email)
    signed_in = client.get("/").get_data(as_text=True)
    assert "Kept Member" in signed_in and "Log out" in signed_in
    visitor = _visitor(app).get("/").get_data(as_text=True)
    assert "Kept Member" not in visitor and "Log out" not in visitor


def test_only_marked_pages_are_kept(app, ctx, cached):
    _visitor(app).get("/auth/login")
    with StatementCounter(app) as counter:
        response = _visitor(app).get("/health")
    assert response.status_code in (200, 503)
    assert counter.statements, "the health page is never kept"
    assert all(key[1].split("?")[0] != "/auth/login" for key in page_cache._pages)


def test_a_missing_event_is_not_kept(app, ctx, cached):
    assert _visitor(app).get("/events/999999/nothing").status_code == 404
    assert not page_cache._pages


def test_a_visitors_event_page_sets_no_cookie(app, ctx):
    """No form (and so no CSRF token in a session cookie) on an event page for a visitor."""
    event = make_event("Harbour walk")
    db.session.commit()
    response = _visitor(app).get(f"/events/{event.id}/{event.slug}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Log in to register for this event." in response.get_data(as_text=True)


# --- a member's front page: the parts that read the same for everyone ------------------------


def _published(title: str):
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.news import services
    from app.news.services import PostFields

    post = services.create_post(PostFields(title=title, body="x"), make_user(roles=["editor"]))
    post.state, post.publish_at = "published", utcnow() - timedelta(hours=1)
    db.session.flush()
    return post


def _signed_in_front_page(app, ctx, client):
    from app.news import pages
    from tests.factories import make_poll

    pages.ensure_pages()
    member = make_user("front@example.org", name="Front Member")
    make_event("Harbour walk", days_ahead=3)
    _published("Spring news")
    make_poll(title="Choose the chair", status="open")
    db.session.commit()
    login(client, member.email)
    return client.get("/").get_data(as_text=True)


def test_a_members_front_page_reads_only_their_own_while_the_shared_parts_are_kept(
    app, client, ctx, cached
):
    first = _signed_in_front_page(app, ctx, client)
    with StatementCounter(app) as counter:
        again = client.get("/").get_data(as_text=True)
    for text in ("Harbour walk", "Spring news", "Choose the chair", "Front Member"):
        assert text in first and text in again, text
    selects = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    read = "\n".join(selects)
    for table in ("front_page_settings", "page_texts", "FROM posts", "FROM events "):
        assert table not in read, read  # kept: the settings, welcome, events and news
    assert len(selects) == 3, read  # the member, their glance, their open polls
    other = app.test_client()
    login(other, make_user("second@example.org", name="Second Member").email)
    db.session.commit()
    theirs = other.get("/").get_data(as_text=True)
    assert "Second Member" in theirs and "Front Member" not in theirs


def test_a_change_committed_here_shows_on_a_members_front_page_at_once(app, client, ctx, cached):
    _signed_in_front_page(app, ctx, client)
    _published("Autumn news")
    db.session.commit()
    assert "Autumn news" in client.get("/").get_data(as_text=True)


@pytest.mark.live  # the other process sees (and changes) what this one committed
def test_a_change_made_elsewhere_shows_on_a_members_front_page_once_the_parts_run_out(
    app, client, ctx, cached, monkeypatch
):
    from sqlalchemy import text

    _signed_in_front_page(app, ctx, client)
    # Another process renames the event: no commit in this one tells the cache.
    with db.engine.connect() as other_process:
        other_process.execute(text("UPDATE events SET title = 'Harbour walk at dusk'"))
        other_process.commit()
    assert "Harbour walk at dusk" not in client.get("/").get_data(as_text=True)
    later = page_cache.time.monotonic() + 11
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: later)
    assert "Harbour walk at dusk" in client.get("/").get_data(as_text=True)


def test_a_signed_in_persons_last_seen_moving_leaves_the_visitors_copy_kept(
    app, client, ctx, cached
):
    from datetime import timedelta

    from sqlalchemy import update

    from app.auth.models import SignInSession
    from app.core.timeutil import utcnow

    member = make_user("seen@example.org")
    make_event("Harbour walk")
    db.session.commit()
    login(client, member.email)
    db.session.execute(update(SignInSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    _visitor(app).get("/events/")
    assert client.get("/account").status_code == 200  # last seen moves: a write of no page's
    with StatementCounter(app) as counter:
        assert "Harbour walk" in _visitor(app).get("/events/").get_data(as_text=True)
    assert counter.statements == []
    [row] = db.session.scalars(db.select(SignInSession)).all()
    db.session.refresh(row)
    assert row.last_seen_at > utcnow() - timedelta(minutes=1)


def test_a_seat_taken_or_given_back_here_shows_on_a_visitors_event_page_at_once(app, ctx, cached):
    # The seat count moves by a statement of its own, not by an ORM flush.
    from app.events import registrations

    event = make_event("Harbour walk", capacity=5)
    db.session.commit()
    page = f"/events/{event.id}"
    assert "5 seats left" in _visitor(app).get(page, follow_redirects=True).get_data(as_text=True)
    assert registrations.take_seat(event.id)
    db.session.commit()
    assert "4 seats left" in _visitor(app).get(page, follow_redirects=True).get_data(as_text=True)
    registrations.release_seat(event.id)
    db.session.commit()
    assert "5 seats left" in _visitor(app).get(page, follow_redirects=True).get_data(as_text=True)


def test_a_write_of_no_public_page_leaves_the_visitors_copy_kept(app, ctx, cached):
    from sqlalchemy import update

    from app.core.jobs import Job
    from app.core.timeutil import utcnow

    make_event("Harbour walk")
    db.session.commit()
    _visitor(app).get("/events/")
    db.session.execute(update(Job).values(run_at=utcnow()))  # the outbox's bookkeeping
    db.session.commit()
    with StatementCounter(app) as counter:
        assert "Harbour walk" in _visitor(app).get("/events/").get_data(as_text=True)
    assert counter.statements == []
