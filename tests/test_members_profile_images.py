"""Profile images beside names: the board, group rosters, the staff directory; and removing mine."""

import io

import pytest
from PIL import Image

from app.core.storage import get_storage
from app.extensions import db
from app.members import groups, titles
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (20, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _with_image(client, email):
    login(client, email)
    post_form(
        client,
        "/account/profile",
        {
            "name": "Pic Person",
            "locale": "en",
            "submit": "1",
            "avatar": (io.BytesIO(_png()), "me.png"),
        },
        content_type="multipart/form-data",
    )


@pytest.fixture()
def chair(app, ctx):
    member = make_member()
    titles.add_title(member, "chair", titles.local_today())
    db.session.commit()
    return member


def test_the_board_shows_the_photo_of_a_title_holder_who_has_one(app, chair):
    client = app.test_client()
    _with_image(client, chair.user.email)
    db.session.refresh(chair.user)
    board = app.test_client().get("/members/board").get_data(as_text=True)
    assert (
        f"/media/{chair.user.avatar_key}" in board and 'class="rounded-circle avatar-lg"' in board
    )


def test_a_title_holder_without_a_photo_has_their_initials_on_the_board(app, chair):
    chair.full_name = "Anna Maria Berg"
    db.session.commit()
    board = app.test_client().get("/members/board").get_data(as_text=True)
    assert (
        '<span class="rounded-circle avatar-lg avatar-initials" aria-hidden="true">AB</span>'
        in board
    )
    assert "<img" not in board.split('id="board"')[1]


def test_a_group_roster_and_the_staff_directory_show_profile_images(app, ctx):
    member, other = make_member(), make_member()
    staff = make_user(roles=["membership"])
    group = groups.save_group(None, name="Data nerds", kind="committee")
    groups.join(group, member, None)
    groups.join(group, other, None)
    db.session.commit()
    client = app.test_client()
    _with_image(client, member.user.email)
    db.session.refresh(member.user)
    roster = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert f"/media/{member.user.avatar_key}" in roster
    staff_client = app.test_client()
    login(staff_client, staff.email)
    directory = staff_client.get("/staff/members/").get_data(as_text=True)
    assert f"/media/{member.user.avatar_key}" in directory


def test_removing_my_profile_image_deletes_the_file(app, ctx):
    user = make_user()
    db.session.commit()
    client = app.test_client()
    _with_image(client, user.email)
    db.session.refresh(user)
    key = user.avatar_key
    assert get_storage().exists("public", key)
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'name="remove_avatar"' in page
    post_form(
        client,
        "/account/profile",
        {"name": user.name, "locale": "en", "submit": "1", "remove_avatar": "y"},
    )
    db.session.refresh(user)
    assert user.avatar_key is None and user.avatar_thumb_key is None
    assert not get_storage().exists("public", key)
    assert 'name="remove_avatar"' not in client.get("/account/profile").get_data(as_text=True)
