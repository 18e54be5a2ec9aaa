"""In headless Chromium: an editor writes a post in the Markdown editor (EasyMDE toolbar and the
server's preview), publishes it and sees it on the front page; without JavaScript the editor is a
plain textarea that still works. Screenshots of the new pages at phone size in Danish."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.news import pages
from app.news.models import Post
from tests.factories import make_event, make_user
from tests.helpers import PASSWORD, screenshot


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def test_editor_writes_a_post_in_the_editor_and_sees_it_on_the_front_page(app, page):
    with app.app_context():
        make_user(email="freja@example.org", name="Freja Holm", roles=["editor"], locale="da")
        pages.ensure_pages()
        db.session.commit()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _login(page, "freja@example.org")
    page.goto("/staff/news/new")
    editor = page.locator(".EasyMDEContainer .CodeMirror")
    expect(editor).to_be_visible()  # EasyMDE replaced the textarea
    expect(page.locator(".editor-toolbar button.bold")).to_be_visible()
    page.locator("#title").fill("Sommerfest på taget")
    page.locator("#summary").fill("Grill, musik og udsigt.")
    editor.click()
    page.keyboard.type("Vi ses ")
    page.locator(".editor-toolbar button.bold").click()  # the toolbar wraps the next words
    page.keyboard.type("fredag kl. 18")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("<script>alert(1)</script>")
    page.keyboard.press("Enter")
    # An image chosen with the toolbar goes to storage and into the text as Markdown.
    with page.expect_file_chooser() as chooser:
        page.locator(".editor-toolbar button.upload-image").click()
    chooser.value.set_files({"name": "foto.png", "mimeType": "image/png", "buffer": _png()})
    expect(page.locator(".CodeMirror")).to_contain_text("/media/news/body/")
    page.locator(".editor-toolbar button.preview").click()
    preview = page.locator(".editor-preview-full")
    expect(preview.locator("strong")).to_have_text("fredag kl. 18")  # rendered by the server
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
    screenshot(page, "news-editor-preview")
    page.locator(".editor-toolbar button.preview").click()
    page.locator("#categories").fill("Fest")
    page.locator("#submit").click()
    page.wait_for_url("**/staff/news/*/edit")
    page.locator("form[action$='/publish'] button").click()
    expect(page.locator("[data-post-state=published]")).to_be_visible()
    with app.app_context():
        post = db.session.scalar(db.select(Post))
        assert post.body.startswith("Vi ses **fredag kl. 18**")
        assert "](/media/news/body/" in post.body
        assert post.state == "published"

    page.goto("/")
    card = page.locator(".front-news .news-card")
    expect(card).to_contain_text("Sommerfest på taget")
    card.locator("a").click()
    expect(page.locator(".news-body strong")).to_have_text("fredag kl. 18")
    # No script or style was refused by the CSP (images are: in tests /media/ redirects to
    # moto's plain-http S3, which img-src refuses; production S3 is https).
    assert not [e for e in errors if "script-src" in e or "style-src" in e], errors


def test_without_javascript_the_editor_is_a_plain_textarea(app, browser, live_server):
    with app.app_context():
        make_user(email="editor@example.org", roles=["editor"], locale="da")
        db.session.commit()
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        _login(page, "editor@example.org")
        page.goto("/staff/news/new")
        expect(page.locator("textarea#body")).to_be_visible()
        assert page.locator(".EasyMDEContainer").count() == 0
        page.locator("#title").fill("Uden JavaScript")
        page.locator("#body").fill("Ren *tekst*.")
        page.locator("#submit").click()
        page.wait_for_url("**/staff/news/*/edit")
    finally:
        context.close()
    with app.app_context():
        assert db.session.scalar(db.select(Post.body)) == "Ren *tekst*."


def test_screenshots_of_news_pages_at_phone_size_in_danish(app, phone_page):
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.news import services
    from app.news.services import PostFields

    with app.app_context():
        editor = make_user(email="redaktoer@example.org", roles=["editor"], locale="da")
        pages.ensure_pages(
            {
                "about": {
                    "da": ("Om foreningen", "Vi er en forening for **alle** i kvarteret."),
                }
            }
        )
        make_event("Sommerfest", days_ahead=6)
        for n, (title, summary) in enumerate(
            [
                ("Ny bestyrelse valgt", "Generalforsamlingen valgte en ny bestyrelse."),
                ("Loppemarked i gården", "Tag dine ting med og sælg dem."),
            ]
        ):
            post = services.create_post(
                PostFields(
                    title=title,
                    summary=summary,
                    body=f"{summary}\n\n## Program\n\n- Kaffe\n- Kage",
                    categories=["Foreningen"],
                    tags=["nyt"],
                ),
                editor,
            )
            post.state, post.publish_at = "published", utcnow() - timedelta(days=n + 1)
        db.session.commit()
        slug = post.slug

    phone_page.goto("/")
    expect(phone_page.locator(".front-news")).to_be_visible()
    screenshot(phone_page, "front-page-phone")
    phone_page.goto("/news/")
    expect(phone_page.locator(".news-card")).to_have_count(2)
    screenshot(phone_page, "news-list-phone")
    phone_page.goto(f"/news/{slug}")
    expect(phone_page.locator("h1")).to_have_text("Loppemarked i gården")
    screenshot(phone_page, "news-post-phone")
    phone_page.goto("/pages/about")
    expect(phone_page.locator(".news-body strong")).to_have_text("alle")
    screenshot(phone_page, "page-about-phone")
    _login(phone_page, "redaktoer@example.org")
    phone_page.goto("/staff/news/")
    screenshot(phone_page, "staff-news-list-phone")
    phone_page.goto(f"/staff/news/{post.id}/edit")
    expect(phone_page.locator(".EasyMDEContainer")).to_be_visible()
    screenshot(phone_page, "staff-news-edit-phone")
    phone_page.goto("/staff/news/front-page")
    screenshot(phone_page, "staff-front-page-phone")
