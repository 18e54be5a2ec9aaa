"""The e-mail layout: the association's name, colour and logo on every e-mail, CSS inlined."""

import io

import pytest
from PIL import Image

from app.core import mail_layout
from app.core.jobs import commit
from app.core.mail import queue_mail
from app.extensions import db
from tests.factories import make_user
from tests.helpers import body_text, login, post_form


@pytest.fixture(autouse=True)
def _fresh_layout():
    """The layout is cached per process: the rolled-back settings must not dress later tests."""
    mail_layout.forget()
    yield
    mail_layout.forget()


def _html(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#aa3300").save(out, "PNG")
    return out.getvalue()


def test_staff_set_name_colour_and_logo_and_every_email_wears_them(
    ctx, app, client, mailbox, run_jobs
):
    make_user("editor@example.org", roles=["editor"])
    db.session.commit()
    login(client, "editor@example.org")
    response = post_form(
        client,
        "/staff/newsletters/layout",
        {
            "name": "Skákfélagið Hrókur",
            "colour": "#AA3300",
            "logo": (io.BytesIO(_png()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    mail_layout.forget()
    # Not a newsletter: a verification e-mail wears the same layout.
    queue_mail("someone@example.org", "verify_email", "en", {"name": "Sam", "link": "http://x/v"})
    commit()
    run_jobs()
    [message] = mailbox.to("someone@example.org")
    html = _html(message)
    assert "Skákfélagið Hrókur" in html
    # The colour is inlined into style attributes (mail programs drop <style> blocks) ...
    assert "background: #aa3300" in html and 'class="button"' in html
    assert "<style>" not in html
    # ... the dark-mode rules stay for the programs that read them.
    assert "prefers-color-scheme: dark" in html
    assert 'name="color-scheme" content="light dark"' in html
    logo = html.split('<img src="', 1)[1].split('"', 1)[0]
    assert logo.startswith("http")  # an absolute address: the e-mail is read elsewhere
    assert "Sam" in body_text(message)  # the plain-text part is there too


def test_a_bad_colour_or_a_file_that_is_not_an_image_is_refused(ctx, client):
    make_user("editor@example.org", roles=["editor"])
    db.session.commit()
    login(client, "editor@example.org")
    page = post_form(
        client, "/staff/newsletters/layout", {"name": "", "colour": "#zz;}00"}
    ).get_data(as_text=True)
    assert "#rrggbb" in page
    page = post_form(
        client,
        "/staff/newsletters/layout",
        {"name": "", "colour": "#112233", "logo": (io.BytesIO(b"<svg/>"), "logo.svg")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "PNG, JPEG or GIF" in page
    db.session.expire_all()
    assert db.session.scalar(db.select(mail_layout.MailLayout)) is None


def test_defaults_without_settings(ctx):
    mail_layout.forget()
    layout = mail_layout.current_layout()
    assert layout.colour == mail_layout.DEFAULT_COLOUR and layout.logo_url is None
    assert mail_layout.text_colour_on("#ffff00") == "#000000"
    assert mail_layout.text_colour_on("#0d3b66") == "#ffffff"
