"""Profile images (checked by content, thumbnails by a job) and the personal data export."""

import io

from PIL import Image

from app.auth.models import User
from app.core.storage import get_storage
from app.extensions import db
from tests.factories import make_user
from tests.helpers import login, post_form


def _png(size=(600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _upload(client, data: bytes, filename: str):
    return post_form(
        client,
        "/account/profile",
        {
            "name": "Pic Person",
            "locale": "en",
            "submit": "1",
            "avatar": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _user(ctx_email):
    return db.session.scalar(db.select(User).filter_by(email=ctx_email))


def test_profile_image_is_stored_under_a_generated_name_and_thumbnailed(app, client, ctx, run_jobs):
    make_user("pic@example.org")
    db.session.commit()
    login(client, "pic@example.org")
    response = _upload(client, _png(), "../../etc/passwd.png")
    assert "Your profile is saved" in response.get_data(as_text=True)
    user = _user("pic@example.org")
    assert user.avatar_key.startswith("avatars/") and "passwd" not in user.avatar_key
    assert user.avatar_thumb_key is None
    run_jobs()
    db.session.expire_all()
    user = _user("pic@example.org")
    thumb = Image.open(io.BytesIO(get_storage().read("public", user.avatar_thumb_key)))
    assert thumb.size == (256, 256)


def test_disguised_file_is_refused_with_a_clear_message(client, ctx):
    make_user("fake@example.org")
    db.session.commit()
    login(client, "fake@example.org")
    response = _upload(client, b"<?php system($_GET['x']); ?>", "photo.jpg")
    assert "not an image we can read" in response.get_data(as_text=True)
    assert _user("fake@example.org").avatar_key is None
    assert _user("fake@example.org").name != "Pic Person"  # nothing half-saved


def test_image_over_5_mb_is_refused(client, ctx):
    make_user("big@example.org")
    db.session.commit()
    login(client, "big@example.org")
    big = _png() + b"\0" * (5 * 1024 * 1024)
    response = _upload(client, big, "big.png")
    assert "larger than 5 MB" in response.get_data(as_text=True)


def test_request_over_the_upload_limit_gets_the_413_page(client, ctx):
    make_user("huge@example.org")
    db.session.commit()
    login(client, "huge@example.org")
    response = _upload(client, b"\0" * (13 * 1024 * 1024), "huge.png")
    assert response.status_code == 413


def test_data_export_contains_the_account(client, ctx):
    make_user("me@example.org", name="Mé Sjálf")
    db.session.commit()
    login(client, "me@example.org")
    data = client.get("/account/data.json").get_json()
    assert data["account"]["email"] == "me@example.org"
    assert data["account"]["name"] == "Mé Sjálf"
