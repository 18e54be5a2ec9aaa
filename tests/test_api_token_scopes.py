"""API token scopes and expiry: a token does only what its scopes allow, stops at its expiry,
and admins create tokens for themselves or a listed service account."""

import re
from datetime import timedelta

from app.api.models import ApiToken
from app.api.services import create_token
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member


def _get(client, path, key):
    return client.get(path, headers={"Authorization": f"Token {key}"})


def test_read_scope_reads_members_but_cannot_change_them(app, client, ctx):
    sync = make_user("sync@example.org", roles=["membership"])
    membership = make_member()
    _t, key = create_token(sync, "reader", scopes=["members:read"])
    db.session.commit()
    assert _get(client, "/api/v1/members", key).status_code == 200
    response = client.patch(
        f"/api/v1/members/{membership.id}",
        json={"full_name": "Changed"},
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "insufficient_scope"
    assert "members:write" in response.get_json()["error"]["message"]


def test_checkin_scope_does_not_open_members_or_polls(app, client, ctx):
    admin = make_user("scanner@example.org", roles=["admin"])
    _t, key = create_token(admin, "door phone", scopes=["checkin"])
    db.session.commit()
    for path in ("/api/v1/members", "/api/v1/polls"):
        response = _get(client, path, key)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "insufficient_scope"
    refused_scan = client.post(
        "/api/v1/checkin",
        json={"code": "nothing", "event_id": 1},
        headers={"Authorization": f"Token {key}"},
    )
    assert refused_scan.status_code != 403


def test_a_token_stops_at_its_expiry(app, client, ctx):
    user = make_user("expiring@example.org")
    token, key = create_token(user, "short", expires_at=utcnow() + timedelta(days=1))
    db.session.commit()
    assert _get(client, "/api/v1/me", key).status_code == 200
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    app.extensions.get("api_token_cache", {}).clear()  # another worker, or 10 s later
    response = _get(client, "/api/v1/me", key)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"


def test_scopes_and_expiry_are_checked_when_made(ctx):
    import pytest

    from app.core.errors import DomainError

    user = make_user()
    with pytest.raises(DomainError):
        create_token(user, "none", scopes=[])
    with pytest.raises(DomainError):
        create_token(user, "made up", scopes=["everything"])
    with pytest.raises(DomainError):
        create_token(user, "past", expires_at=utcnow() - timedelta(days=1))


def test_admin_creates_a_token_for_a_listed_service_account(app, client, ctx):
    make_user("token-admin@example.org", name="Admin", roles=["admin"])
    service = make_user("scanner-app@example.org", name="Scanner service", roles=["door"])
    make_user("plain@example.org", name="Plain member")
    db.session.commit()
    login(client, "token-admin@example.org")
    page = client.get("/staff/tokens/").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', page)
    labels = [label for _value, label in options]
    assert labels[0].startswith("Me (Admin)")
    assert any("Scanner service" in label for label in labels)
    assert not any("Plain member" in label for label in labels)  # not typed: picked
    created = post_form(
        client,
        "/staff/tokens/",
        {
            "user_id": service.id,
            "name": "door scanner",
            "scopes": ["checkin", "events"],
            "expires_on": (utcnow() + timedelta(days=30)).date().isoformat(),
        },
    ).get_data(as_text=True)
    key = re.search(r'id="new-token">([^<]+)<', created).group(1)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "door scanner"))
    assert token.user_id == service.id and token.scope_list == ["checkin", "events"]
    assert token.expires_at is not None
    assert 'data-scopes="checkin events"' in created
    assert _get(client, "/api/v1/events/1/checkin", key).status_code != 403

    bad = post_form(client, "/staff/tokens/", {"user_id": 999999, "name": "x", "scopes": ["polls"]})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_cli_creates_a_scoped_token(app, ctx):
    make_user("cli-token@example.org")
    db.session.commit()
    runner = app.test_cli_runner()
    args = ["tokens", "create", "cli-token@example.org", "--name", "sync"]
    result = runner.invoke(args=[*args, "--scope", "polls", "--expires-days", "7"])
    assert result.exit_code == 0, result.output
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "sync"))
    assert token.scope_list == ["polls"] and token.expires_at > utcnow() + timedelta(days=6)
    assert result.output.strip().startswith(token.prefix)
    wrong = runner.invoke(args=[*args, "--scope", "everything"])
    from flask_babel import force_locale, gettext

    with force_locale(app.config["DEFAULT_LANGUAGE"]):  # the command speaks the site's language
        refusal = gettext("Choose at least one of the offered scopes.")
    assert wrong.exit_code != 0 and refusal in wrong.output
