"""A door phone keeps nothing after logout, and its offline bundle says when the event ends."""

from datetime import datetime

from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import login, post_form


def test_logout_tells_the_browser_to_clear_stored_data_and_cache(client, ctx):
    make_user("door@example.org", roles=["door"])
    db.session.commit()
    login(client, "door@example.org")
    response = post_form(client, "/auth/logout", {}, page_url="/account")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/").headers


def test_offline_bundle_carries_the_event_end_time(client, ctx):
    make_user("door@example.org", roles=["door"])
    event = make_event(days_ahead=0)
    db.session.commit()
    login(client, "door@example.org")
    data = client.get(f"/door/{event.id}/offline.json").get_json()
    assert datetime.fromisoformat(data["ends_at"]) == event.ends_at
