"""The front page (welcome, call to action, events, news, open polls; configurable by editors; a
fixed handful of queries) and the pages (about, privacy, statutes, contact details)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.timeutil import utcnow
from app.extensions import db
from app.news import pages, services
from app.news.models import FrontPage, Page
from app.news.services import PostFields
from tests.factories import make_event, make_poll, make_user
from tests.helpers import StatementCounter, login, post_form


def _post(title: str, days_ago: int = 1):
    post = services.create_post(PostFields(title=title, body="x"), make_user(roles=["editor"]))
    post.state, post.publish_at = "published", utcnow() - timedelta(days=days_ago)
    db.session.flush()
    return post


def test_front_page_shows_events_news_and_the_call_to_sign_up(client, ctx):
    pages.ensure_pages()
    make_event("Sommerfest", days_ahead=5)
    make_event("Hidden draft event", status="draft")
    _post("Ny formand valgt")
    html = client.get("/").get_data(as_text=True)
    assert "Sommerfest" in html and "Hidden draft event" not in html
    assert "Ny formand valgt" in html
    assert 'href="/auth/register"' in html
    assert "Welcome to" in html  # the built-in welcome while the page 'welcome' is empty


def test_signed_in_non_member_is_asked_to_apply(client, ctx):
    user = make_user()
    db.session.commit()
    login(client, user.email)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/members/apply"' in html and 'href="/auth/register"' not in html


def test_an_active_member_is_not_asked_to_apply(client, ctx):
    from tests.members_helpers import make_member

    member = make_member()
    db.session.commit()
    login(client, member.user.email)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/members/apply"' not in html


def test_open_polls_for_my_vote_show_on_the_front_page(client, ctx):
    voter = make_user()
    poll = make_poll(title="Valg af kasserer", status="open")
    db.session.commit()
    assert "Valg af kasserer" not in client.get("/").get_data(as_text=True)  # visitors
    login(client, voter.email)
    html = client.get("/").get_data(as_text=True)
    assert "Valg af kasserer" in html and f'href="/polls/{poll.id}"' in html


def test_editor_chooses_the_blocks_and_writes_the_welcome(client, ctx):
    pages.ensure_pages()
    editor = make_user(roles=["editor"])
    make_event("Sommerfest", days_ahead=5)
    for n in range(4):
        _post(f"Nyhed nummer {n}", days_ago=n + 1)
    db.session.commit()
    login(client, editor.email)
    response = post_form(
        client,
        "/staff/news/front-page",
        {"show_news": "y", "news_count": "2", "events_count": "3"},
    )
    assert response.status_code == 302
    post_form(
        client,
        "/staff/pages/welcome/en",
        {"title": "Hello, neighbours", "body": "We are **the club** of the street."},
    )
    html = client.get("/").get_data(as_text=True)
    assert "Hello, neighbours" in html and "<strong>the club</strong>" in html
    assert "Sommerfest" not in html  # events block off
    assert "Nyhed nummer 0" in html and "Nyhed nummer 1" in html
    assert "Nyhed nummer 2" not in html  # two posts only
    assert "/members/apply" not in html and '/auth/register" class="btn btn-primary' not in html
    settings = db.session.scalar(select(FrontPage))
    assert (settings.show_events, settings.show_call_to_action, settings.news_count) == (
        False,
        False,
        2,
    )


def test_front_page_runs_a_fixed_number_of_queries(app, client, ctx):
    pages.ensure_pages()
    voter = make_user()
    db.session.commit()
    login(client, voter.email)

    def count_selects() -> list[str]:
        client.get("/")  # warm up caches (translations, templates)
        with StatementCounter(app) as counter:
            assert client.get("/").status_code == 200
        return [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]

    def add_items(n: int, start: int) -> None:
        for i in range(start, start + n):
            make_event(f"Event {i}", days_ahead=i + 1)
            post = _post(f"Post {i}", days_ago=i + 1)
            services.save_translation(post, "en", f"Post {i} in English", "", "x")
            make_poll(title=f"Poll {i}", status="open")
        db.session.commit()

    add_items(1, 0)
    few = count_selects()
    add_items(5, 1)
    many = count_selects()
    html = client.get("/").get_data(as_text=True)
    assert "Post 0 in English" in html, html
    assert html.count("/polls/") >= 3
    # The same statements whether one or six of each: nothing is read per item.
    assert len(many) == len(few), many
    # Of them, the front page's own: settings, welcome page and its texts, events, posts and
    # their translations, polls, the membership (for the call to action).
    assert len(many) <= 12, many


# --- Pages -------------------------------------------------------------------------------------


def test_pages_are_shown_in_the_readers_language_else_danish(client, ctx):
    pages.ensure_pages()
    about = db.session.scalar(select(Page).where(Page.slug == "about"))
    pages.save_page_text(about, "da", "Om os", "Vi er en **forening**.", None)
    pages.save_page_text(about, "en", "About us", "We are an *association*.", None)
    db.session.flush()
    client.set_cookie("lang", "en")
    assert "<em>association</em>" in client.get("/pages/about").get_data(as_text=True)
    client.set_cookie("lang", "is")
    html = client.get("/pages/about").get_data(as_text=True)
    assert "<strong>forening</strong>" in html  # no Icelandic text: the Danish one
    assert client.get("/pages/welcome").status_code == 404  # the front page's text only
    assert client.get("/pages/nothing-here").status_code == 404


def test_footer_and_sign_up_form_link_the_pages(client, ctx):
    pages.ensure_pages()
    html = client.get("/").get_data(as_text=True)
    for slug in ("about", "privacy", "statutes", "contact-details"):
        assert f'href="/pages/{slug}"' in html
    register = client.get("/auth/register").get_data(as_text=True)
    assert 'href="/pages/privacy"' in register
    assert client.get("/pages/privacy").status_code == 200


def test_editor_edits_a_page_per_language_and_it_is_audited(client, ctx):
    from app.core.audit import AuditEntry

    pages.ensure_pages()
    editor = make_user(roles=["editor"])
    db.session.commit()
    login(client, editor.email)
    listing = client.get("/staff/pages/").get_data(as_text=True)
    assert "/staff/pages/statutes/is" in listing
    response = post_form(
        client,
        "/staff/pages/statutes/is",
        {"title": "Lög félagsins", "body": "Grein 1: Nafn félagsins"},
    )
    assert response.status_code == 302
    reader = client.application.test_client()
    reader.set_cookie("lang", "is")
    assert "Grein 1: Nafn félagsins" in reader.get("/pages/statutes").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "page.updated"))


def test_seed_pages_are_made_once_and_keep_staff_texts(ctx):
    assert pages.ensure_pages() == 5
    privacy = pages.get_page("privacy")
    pages.save_page_text(privacy, "da", "Privatliv", "Vores tekst", None)
    assert pages.ensure_pages() == 0
    assert pages.get_page("privacy").text("da").body == "Vores tekst"
    titles = {t.locale: t.title for t in pages.get_page("statutes").texts}
    assert titles == {"da": "Vedtægter", "en": "Statutes", "is": "Lög félagsins"}


def test_the_demo_seed_writes_pages_and_news(client, ctx):
    from app.demo import seed

    seed(member_count=4)
    db.session.commit()
    reader = client.application.test_client()
    reader.set_cookie("lang", "is")
    assert "Við erum félag" in reader.get("/pages/about").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)  # in English
    assert "New board elected" in home and "Indkaldelse til årsmøde" not in home
    assert client.get("/pages/statutes").status_code == 200


def test_the_migration_creates_the_pages_and_allows_the_editor_role(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'pages.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FELAG_ENV")}
    env.update(FLASK_APP="wsgi", DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pages.slug, page_texts.locale, page_texts.title FROM pages "
                "JOIN page_texts ON page_texts.page_id = pages.id"
            )
        ).all()
        # The role check (SQLite keeps it in the table's SQL) names the editor role.
        roles_sql = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE name = 'user_roles'")
        ).scalar_one()
        front = conn.execute(sa.text("SELECT show_news, news_count FROM front_page_settings")).one()
    engine.dispose()
    titles = {(slug, locale): title for slug, locale, title in rows}
    assert titles[("privacy", "da")] == "Privatlivspolitik"
    assert titles[("statutes", "is")] == "Lög félagsins"
    assert titles[("contact-details", "en")] == "Contact details"
    assert {slug for slug, _locale in titles} == set(pages.PAGE_SLUGS)
    assert tuple(front) in ((1, 3), (True, 3))
    assert "'membership', 'editor', 'admin'" in roles_sql
