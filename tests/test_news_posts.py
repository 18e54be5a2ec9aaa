"""News: what readers see (list, filters, a post in their language, old slugs, scheduling, the
Atom feed, Open Graph tags) and what editors do in /staff/news/ (role editor; admins too)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.timeutil import utcnow
from app.extensions import db
from app.news import services
from app.news.models import Post, PostSlug
from app.news.services import PostFields
from tests.factories import make_user
from tests.helpers import csrf_from, login, post_form

ATOM = "{http://www.w3.org/2005/Atom}"


def make_post(title="Generalforsamling 2027", state="published", days_ago=1, **fields) -> Post:
    """A post written by a fresh editor; published (or scheduled) days_ago days ago."""
    data = PostFields(title=title, body=fields.pop("body", "Vi mødes **fredag**."), **fields)
    post = services.create_post(data, make_user(roles=["editor"]))
    if state != "draft":
        post.state, post.publish_at = state, utcnow() - timedelta(days=days_ago)
    db.session.flush()
    return post


def test_news_list_shows_published_posts_newest_first_and_hides_drafts(client, ctx):
    make_post("Older news", days_ago=3)
    make_post("Newer news", days_ago=1)
    make_post("Secret draft", state="draft")
    make_post("Tomorrow's news", state="scheduled", days_ago=-1)
    html = client.get("/news/").get_data(as_text=True)
    assert html.index("Newer news") < html.index("Older news")
    assert "Secret draft" not in html and "Tomorrow&#39;s news" not in html


def test_a_scheduled_post_appears_when_its_time_comes(client, ctx, monkeypatch):
    from app.core import timeutil

    post = make_post("Scheduled news", state="draft")
    services.publish(post, utcnow() + timedelta(hours=2))
    db.session.flush()
    assert post.state == "scheduled"
    assert client.get(f"/news/{post.slug}").status_code == 404
    assert "Scheduled news" not in client.get("/news/").get_data(as_text=True)
    later = utcnow() + timedelta(hours=3)
    monkeypatch.setattr(timeutil, "clock", lambda: later)
    assert client.get(f"/news/{post.slug}").status_code == 200
    assert "Scheduled news" in client.get("/news/").get_data(as_text=True)


def test_news_is_paginated_and_filtered_by_category_and_tag(client, ctx):
    for n in range(12):
        make_post(f"Bulk post {n:02d}", days_ago=20 + n)
    make_post("Board news", categories=["Bestyrelsen"], tags=["Møde"], days_ago=1)
    make_post("Party news", categories=["Fest"], tags=["Møde", "Sommer"], days_ago=2)
    first = client.get("/news/").get_data(as_text=True)
    assert "Board news" in first and "Bulk post 11" not in first
    assert "Bulk post 11" in client.get("/news/?page=2").get_data(as_text=True)
    board = client.get("/news/?category=bestyrelsen").get_data(as_text=True)
    assert "Board news" in board and "Party news" not in board and "Bulk post" not in board
    tagged = client.get("/news/?tag=moede").get_data(as_text=True)
    assert "Board news" in tagged and "Party news" in tagged and "Bulk post" not in tagged
    summer = client.get("/news/?tag=sommer&category=fest").get_data(as_text=True)
    assert "Party news" in summer and "Board news" not in summer
    assert client.get("/news/?tag=no-such-tag").status_code == 404


def test_reader_sees_their_language_version_else_the_original(client, ctx):
    post = make_post("Sommerfest", language="da", body="Dansk tekst")
    services.save_translation(post, "en", "Summer party", "Join us", "English text")
    db.session.flush()
    client.set_cookie("lang", "en")
    english = client.get(f"/news/{post.slug}").get_data(as_text=True)
    assert "Summer party" in english and "English text" in english
    assert "Dansk tekst" not in english
    client.set_cookie("lang", "is")
    icelandic = client.get(f"/news/{post.slug}").get_data(as_text=True)
    assert "Sommerfest" in icelandic and "Dansk tekst" in icelandic  # no Icelandic version
    client.set_cookie("lang", "da")
    assert "Dansk tekst" in client.get(f"/news/{post.slug}").get_data(as_text=True)


def test_post_body_is_rendered_markdown_and_sanitised(client, ctx):
    post = make_post(body="## Program\n\n**Kl. 18** <script>alert(1)</script> [x](javascript:y)")
    html = client.get(f"/news/{post.slug}").get_data(as_text=True)
    assert "<h2>Program</h2>" in html and "<strong>Kl. 18</strong>" in html
    assert "<script>alert(1)</script>" not in html and 'href="javascript' not in html


def test_renamed_post_redirects_from_its_old_slug(client, ctx):
    post = make_post("Old title")
    old = post.slug
    services.update_post(post, PostFields(title="New title", slug="new-title", body="x"))
    db.session.flush()
    response = client.get(f"/news/{old}")
    assert response.status_code == 301 and response.headers["Location"].endswith("/news/new-title")
    assert client.get("/news/new-title").status_code == 200
    # A published post keeps its address when only the title changes.
    services.update_post(post, PostFields(title="Third title", body="x"))
    db.session.flush()
    assert post.slug == "new-title"


def test_a_new_post_may_take_an_old_slug_of_another(ctx):
    first = make_post("Shared name")
    services.update_post(first, PostFields(title="Shared name", slug="renamed", body="x"))
    db.session.flush()
    second = services.create_post(PostFields(title="x", slug="shared-name"), make_user())
    db.session.flush()
    assert second.slug == "shared-name"
    assert db.session.scalar(select(PostSlug).where(PostSlug.slug == "shared-name")) is None


def test_open_graph_tags_on_a_post(client, ctx):
    post = make_post("Åbent hus", summary="Kom og se vores nye lokaler.")
    html = client.get(f"/news/{post.slug}").get_data(as_text=True)
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:title" content="Åbent hus">' in html
    assert '<meta property="og:description" content="Kom og se vores nye lokaler.">' in html
    base = client.application.config["BASE_URL"]
    assert f'<meta property="og:url" content="{base}/news/{post.slug}">' in html


def test_atom_feed_lists_visible_posts_in_the_readers_language(client, ctx):
    post = make_post("Nyhed et", body="*Hej*", summary="Kort")
    services.save_translation(post, "en", "News one", "Short", "*Hello*")
    make_post("Hidden draft", state="draft")
    db.session.flush()
    response = client.get("/news/feed.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.data)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["News one"]
    assert entries[0].find(f"{ATOM}link").get("href").endswith(f"/news/{post.slug}")
    assert "<em>Hello</em>" in entries[0].find(f"{ATOM}content").text


# --- Editors -----------------------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_only_editors_and_admins_reach_the_news_staff_pages(client, ctx):
    organiser = make_user(roles=["organiser"])
    editor = make_user(roles=["editor"])
    db.session.commit()
    login(client, organiser.email)
    assert client.get("/staff/news/").status_code == 403
    assert client.get("/staff/pages/").status_code == 403
    client.post("/auth/logout", data={})
    other = client.application.test_client()
    login(other, editor.email)
    assert other.get("/staff/news/").status_code == 200
    assert other.get("/staff/pages/").status_code == 200
    assert other.get("/staff/news/front-page").status_code == 200


def test_editor_writes_translates_publishes_and_unpublishes_a_post(client, ctx, run_jobs):
    editor = make_user(roles=["editor"])
    db.session.commit()
    login(client, editor.email)
    response = post_form(
        client,
        "/staff/news/new",
        {
            "title": "Ny bestyrelse",
            "summary": "Valgt i aftes",
            "body": "Tillykke til **alle**.",
            "language": "da",
            "categories": "Bestyrelsen, Nyt",
            "tags": "valg",
            "slug": "",
            "cover": (io.BytesIO(_png()), "cover.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    post = db.session.scalar(select(Post).where(Post.title == "Ny bestyrelse"))
    assert post.state == "draft" and post.author_id == editor.id
    assert [c.name for c in post.categories] == ["Bestyrelsen", "Nyt"]
    reader = client.application.test_client()
    assert reader.get(f"/news/{post.slug}").status_code == 404  # a draft
    run_jobs()
    db.session.expire_all()
    assert post.cover_list_key and post.cover_detail_key

    edit_url = f"/staff/news/{post.id}/edit"
    response = post_form(
        client,
        f"/staff/news/{post.id}/translations/en",
        {"title": "New board", "summary": "Elected", "body": "Congratulations"},
    )
    assert response.status_code == 302
    response = post_form(client, f"/staff/news/{post.id}/publish", {"publish_at": ""}, edit_url)
    assert response.status_code == 302
    db.session.expire_all()
    assert post.state == "published"
    client.set_cookie("lang", "en")
    page = client.get(f"/news/{post.slug}").get_data(as_text=True)
    assert "New board" in page and "Congratulations" in page
    assert 'property="og:image"' in page

    post_form(client, f"/staff/news/{post.id}/unpublish", {}, edit_url)
    db.session.expire_all()
    assert post.state == "draft"
    assert reader.get(f"/news/{post.slug}").status_code == 404
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "post").order_by(AuditEntry.id)
    ).all()
    assert actions == ["post.created", "post.translated", "post.published", "post.unpublished"]


def test_editor_schedules_a_post_for_a_local_time(client, ctx):
    editor = make_user(roles=["editor"])
    post = make_post("Later", state="draft")
    db.session.commit()
    login(client, editor.email)
    when = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    edit_url = f"/staff/news/{post.id}/edit"
    post_form(client, f"/staff/news/{post.id}/publish", {"publish_at": when}, edit_url)
    db.session.expire_all()
    assert post.state == "scheduled" and post.publish_at > utcnow() + timedelta(days=1)
    listing = client.get("/staff/news/?state=scheduled").get_data(as_text=True)
    assert "Later" in listing


def test_post_form_errors_show_next_to_the_field(client, ctx):
    editor = make_user(roles=["editor"])
    db.session.commit()
    login(client, editor.email)
    response = post_form(
        client,
        "/staff/news/new",
        {"title": "Fine", "language": "da", "slug": "Not A Slug!", "body": ""},
    )
    assert response.status_code == 200
    assert "Use only lowercase letters a-z, digits and hyphens." in response.get_data(as_text=True)
    assert db.session.scalar(select(Post)) is None


def test_admin_can_grant_the_editor_role(client, ctx):
    from app.core.security import ROLES

    assert "editor" in ROLES
    admin = make_user(roles=["admin"])
    person = make_user()
    db.session.commit()
    login(client, admin.email)
    page = client.get(f"/staff/users/{person.id}").get_data(as_text=True)
    assert 'value="editor"' in page
    post_form(client, f"/staff/users/{person.id}", {"roles": ["editor"]})
    db.session.expire_all()
    assert person.role_names == {"editor"}


def test_editor_preview_is_the_sanitised_html_readers_get(client, ctx):
    editor = make_user(roles=["editor"])
    member = make_user()
    db.session.commit()
    login(client, member.email)
    page = client.get("/account").get_data(as_text=True)
    token = csrf_from(page)
    assert (
        client.post("/staff/news/preview", data={"text": "x", "csrf_token": token}).status_code
        == 403
    )
    other = client.application.test_client()
    login(other, editor.email)
    token = csrf_from(other.get("/staff/news/new").get_data(as_text=True))
    response = other.post(
        "/staff/news/preview",
        data={"text": "**hej** <img src=x onerror=alert(1)> [x](javascript:alert(1))"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>hej</strong>" in html
    assert "<img" not in html and 'href="javascript' not in html
    assert other.post("/staff/news/preview", data={"text": "x"}).status_code == 400  # no CSRF


def test_editors_preview_a_draft_readers_get_404(client, ctx):
    post = make_post("Draft in progress", state="draft")
    editor, member = make_user(roles=["editor"]), make_user()
    db.session.commit()
    assert client.get(f"/news/{post.slug}").status_code == 404
    login(client, member.email)
    assert client.get(f"/news/{post.slug}").status_code == 404
    other = client.application.test_client()
    login(other, editor.email)
    response = other.get(f"/news/{post.slug}")
    assert response.status_code == 200
    assert "only editors see this preview" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_tag_created_meanwhile_by_another_editor_is_reused(ctx, monkeypatch):
    from app.news.models import Tag

    db.session.add(Tag(slug="sommer", name="Sommer"))
    db.session.flush()
    real_scalar = db.session.scalar
    calls = {"n": 0}

    def stale_first_lookup(stmt, *args, **kwargs):
        # The first lookup of the tag ran before the other editor's insert: it saw nothing.
        if "news_tags" in str(stmt) and calls["n"] == 0:
            calls["n"] += 1
            return None
        return real_scalar(stmt, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", stale_first_lookup)
    post = services.create_post(PostFields(title="Sol", tags=["Sommer"]), make_user())
    monkeypatch.undo()
    db.session.flush()
    assert calls["n"] == 1
    assert [t.slug for t in post.tags] == ["sommer"]
    assert len(db.session.scalars(select(Tag)).all()) == 1


def test_two_editors_taking_the_same_address_at_once_get_a_form_error(client, ctx, monkeypatch):
    make_post("Sommerfest")
    editor = make_user(roles=["editor"])
    db.session.commit()
    # The other editor's post was saved between this request's check and its insert.
    monkeypatch.setattr(services, "_slug_taken", lambda slug, post: False)
    login(client, editor.email)
    response = post_form(
        client, "/staff/news/new", {"title": "Sommerfest", "language": "da", "body": "x"}
    )
    assert response.status_code == 200
    assert "Another post took this address a moment ago." in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Post)).all()) == 1


def test_editor_uploads_an_image_into_the_text_through_storage(client, ctx):
    editor = make_user(roles=["editor"])
    db.session.commit()
    login(client, editor.email)
    token = csrf_from(client.get("/staff/news/new").get_data(as_text=True))
    response = client.post(
        "/staff/news/images",
        data={"image": (io.BytesIO(_png()), "photo.png"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    url = response.get_json()["data"]["filePath"]
    assert url.startswith("/media/news/body/") and url.endswith(".png")
    assert client.get(url).status_code in (200, 302)  # local file, or a presigned S3 address
    # The address is one the sanitiser lets through in a post.
    post = make_post(body=f"![Foto]({url})")
    db.session.commit()
    assert f'<img src="{url}" alt="Foto"' in client.get(f"/news/{post.slug}").get_data(as_text=True)
    refused = client.post(
        "/staff/news/images",
        data={"image": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "error" in refused.get_json()
