"""Files stored during a request belong to its transaction; an event image upload holds no lock."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from app.auth.services import update_profile
from app.core import storage
from app.core.storage import get_storage
from app.events import services as event_services
from app.events.models import Event
from app.events.services import EventFields, update_event
from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import login, post_form


def _png(color=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def test_a_rolled_back_event_change_removes_the_image_it_stored(ctx):
    event = make_event("Sommerfest")
    db.session.commit()
    update_event(event, EventFields.from_event(event), image=_png())
    key = event.image_key
    assert key and get_storage().exists("public", key)
    db.session.rollback()
    assert not get_storage().exists("public", key)
    assert db.session.get(Event, event.id).image_key is None


def test_a_committed_image_stays_and_a_savepoint_rollback_removes_only_its_own(ctx):
    user = make_user()
    update_profile(user, user.name, "en", _png())
    kept = user.avatar_key
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            inner = storage.store("public", storage.new_key("avatars", "png"), _png(), "image/png")
            raise RuntimeError("the inner step fails")
    assert not get_storage().exists("public", inner)
    db.session.commit()
    assert get_storage().exists("public", kept)
    db.session.rollback()  # nothing left to undo: the committed file stays
    assert get_storage().exists("public", kept)


def test_a_failed_profile_request_leaves_no_file(app, client, ctx, monkeypatch):
    user = make_user("pic@example.org")
    db.session.commit()
    login(client, "pic@example.org")
    saved = []
    real_store = storage.store

    def spy(area, key, data, content_type):
        saved.append(key)
        return real_store(area, key, data, content_type)

    def broken(*args, **kwargs):
        raise RuntimeError("the thumbnail queue is broken")

    monkeypatch.setattr("app.auth.services.store", spy)
    monkeypatch.setattr("app.auth.services.enqueue_after_commit", broken)
    response = post_form(
        client,
        "/account/profile",
        {"name": "Pia", "locale": "en", "avatar": (io.BytesIO(_png()), "me.png"), "submit": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 500
    assert saved and not get_storage().exists("public", saved[0])
    assert db.session.get(type(user), user.id).avatar_key is None


@pytest.mark.live
def test_the_event_row_is_not_locked_while_the_image_is_stored(app, postgres, monkeypatch):
    """Another transaction can lock the event while storage works (it would wait before)."""
    probe = sa.create_engine(postgres["database_url"])
    seen = []

    def row_is_free(event_id: int) -> bool:
        with probe.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '50ms'"))
            try:
                conn.execute(
                    sa.text("SELECT id FROM events WHERE id = :id FOR UPDATE"), {"id": event_id}
                )
            except sa.exc.OperationalError:
                return False
            finally:
                conn.rollback()
        return True

    with app.app_context():
        event = make_event("Upload", capacity=10)
        db.session.commit()
        event_id = event.id
        real_save = type(get_storage()).save

        def watching_save(self, area, key, data, content_type):
            seen.append(row_is_free(event_id))
            return real_save(self, area, key, data, content_type)

        monkeypatch.setattr(type(get_storage()), "save", watching_save)
        update_event(event, EventFields.from_event(event), image=_png())
        db.session.commit()
        # The probe does see a held lock: store after taking it, as the old code did.
        event_services.lock_event(event_id)
        storage.store("public", storage.new_key("events", "png"), _png(), "image/png")
        db.session.rollback()
        db.session.remove()
    probe.dispose()
    assert seen == [True, False]
