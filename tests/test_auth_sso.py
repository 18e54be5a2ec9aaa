"""Single sign-on against a real OpenID Connect provider on loopback (oidc-provider-mock), through
the whole redirect dance: the test client plays the browser, `requests` plays the person at the
provider's authorization page (where the user's claims are chosen)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from app.auth.models import SignInSession, User
from app.auth.sign_in_models import SignInIdentity
from app.core.audit import AuditEntry
from app.core.timeutil import utcnow
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD, csrf_from, login, post_form
from tests.passkey_helpers import SoftAuthenticator


@pytest.fixture(scope="module")
def provider():
    """An OpenID provider on loopback for this module's tests."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso_on(app, provider, monkeypatch):
    """The generic OIDC issuer switched on, as the environment variables would."""
    monkeypatch.setitem(app.config, "OAUTH_PROVIDERS", ["oidc"])
    monkeypatch.setitem(app.config, "OAUTH_OIDC_CLIENT_ID", "felag-test")
    monkeypatch.setitem(app.config, "OAUTH_OIDC_CLIENT_SECRET", "felag-test-secret")
    monkeypatch.setitem(
        app.config, "OAUTH_OIDC_METADATA_URL", f"{provider}/.well-known/openid-configuration"
    )
    monkeypatch.setitem(app.config, "OAUTH_OIDC_NAME", "Loopback ID")
    return provider


def _at_provider(authorize_url: str, sub: str, claims: dict | None, deny: bool = False) -> str:
    """The person at the provider: claims for `sub`, then Authorize (or Deny); the callback URL."""
    if claims is not None:
        base = authorize_url.split("/oauth2/")[0]
        assert requests.put(f"{base}/users/{sub}", json=claims, timeout=10).status_code == 204
    data = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorize_url, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _dance(client, sub: str, claims: dict | None, start: str = "/auth/oauth/oidc", **kwargs):
    """Start at Félag, sign in at the provider, come back: the callback's response."""
    started = client.get(start)
    assert started.status_code == 302, started.get_data(as_text=True)
    callback = _at_provider(started.headers["Location"], sub, claims, **kwargs)
    return client.get(_local(callback))


def _verified(email: str, name: str = "Sigrún SSO") -> dict:
    return {"email": email, "email_verified": True, "name": name}


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _flash(client, response) -> str:
    return client.get(_local(response.headers["Location"])).get_data(as_text=True)


def test_buttons_only_when_configured(client, app, provider, monkeypatch):
    assert "Continue with" not in client.get("/auth/login").get_data(as_text=True)
    assert client.get("/auth/oauth/oidc").status_code == 404
    monkeypatch.setitem(app.config, "OAUTH_PROVIDERS", ["oidc", "github"])
    monkeypatch.setitem(app.config, "OAUTH_OIDC_CLIENT_ID", "felag-test")
    monkeypatch.setitem(app.config, "OAUTH_OIDC_METADATA_URL", f"{provider}/.well-known/x")
    for page in ("/auth/login", "/auth/register"):
        html = client.get(page).get_data(as_text=True)
        assert 'data-provider="oidc"' in html
        assert 'data-provider="github"' not in html  # listed, but no client id set
    assert client.get("/auth/oauth/github").status_code == 404


def test_the_redirect_carries_state_nonce_and_pkce(client, sso_on):
    started = client.get("/auth/oauth/oidc")
    query = parse_qs(urlsplit(started.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]
    assert query["redirect_uri"][0].endswith("/auth/oauth/oidc/callback")


def test_first_sign_in_creates_an_account_from_a_verified_address(client, ctx, sso_on):
    response = _dance(client, "sub-new", _verified("New.Person@Example.org", "Nýr Maður"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/oauth/complete")
    page = client.get("/auth/oauth/complete").get_data(as_text=True)
    assert "new.person@example.org" in page and 'value="Nýr Maður"' in page
    assert not _signed_in(client)

    refused = post_form(client, "/auth/oauth/complete", {"name": "Nýr Maður"})
    assert refused.status_code == 200 and "accept the privacy policy" in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(select(User).where(User.email == "new.person@example.org")) is None

    created = post_form(
        client, "/auth/oauth/complete", {"name": "Nýr Maður", "accept_privacy": "y"}
    )
    assert created.status_code == 302 and created.headers["Location"].endswith("/account")
    assert _signed_in(client)
    user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
    assert user.is_verified and user.privacy_accepted_at and user.name == "Nýr Maður"
    assert user.password_hash == ""  # no password: no password can match
    identity = db.session.scalar(select(SignInIdentity).where(SignInIdentity.user_id == user.id))
    assert (identity.provider, identity.subject, identity.email) == (
        "oidc",
        "sub-new",
        "new.person@example.org",
    )
    row = db.session.scalar(select(SignInSession).where(SignInSession.user_id == user.id))
    assert row.method == "oauth:oidc"

    # Next time the provider account signs straight in.
    post_form(client, "/auth/logout", {}, page_url="/account")
    again = _dance(client, "sub-new", None)
    assert again.status_code == 302 and again.headers["Location"].endswith("/account")
    assert _signed_in(client)
    post_form(client, "/auth/logout", {}, page_url="/account")
    assert login(client, "new.person@example.org", "any password at all").status_code == 200
    assert not _signed_in(client)  # an account made by single sign-on has no password


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "unverified@example.org", "email_verified": False},
        {"email": "unverified@example.org"},
        {"email_verified": True},
    ],
    ids=["unverified", "not said", "no address"],
)
def test_an_address_the_provider_has_not_verified_is_refused(client, ctx, sso_on, claims):
    response = _dance(client, "sub-unverified", claims)
    assert response.headers["Location"].endswith("/auth/login")
    assert "has not confirmed your e-mail address" in _flash(client, response)
    assert client.get("/auth/oauth/complete").headers["Location"].endswith("/auth/login")
    assert db.session.scalar(select(User.id)) is None
    assert db.session.scalar(select(SignInIdentity.id)) is None


def test_a_forged_state_is_refused(client, ctx, sso_on):
    make_user("victim@example.org")
    identity_owner = db.session.scalar(select(User))
    db.session.add(SignInIdentity(provider="oidc", subject="sub-victim", user_id=identity_owner.id))
    db.session.commit()
    started = client.get("/auth/oauth/oidc")
    callback = _at_provider(
        started.headers["Location"], "sub-victim", _verified("victim@example.org")
    )
    forged = re.sub(r"state=[^&]+", "state=forged", _local(callback))
    response = client.get(forged)
    assert response.headers["Location"].endswith("/auth/login")
    assert "did not work" in _flash(client, response)
    assert not _signed_in(client)

    # The real callback in another browser (no state in its session) is refused as well.
    other = client.application.test_client()
    response = other.get(_local(callback))
    assert response.headers["Location"].endswith("/auth/login")
    assert not _signed_in(other)


def test_a_state_is_used_once(client, ctx, sso_on):
    started = client.get("/auth/oauth/oidc")
    callback = _at_provider(started.headers["Location"], "sub-once", _verified("once@example.org"))
    assert client.get(_local(callback)).headers["Location"].endswith("/auth/oauth/complete")
    replay = client.get(_local(callback))
    assert replay.headers["Location"].endswith("/auth/login")


def test_denied_at_the_provider(client, sso_on):
    response = _dance(client, "sub-deny", None, deny=True)
    assert response.headers["Location"].endswith("/auth/login")
    assert "was cancelled" in _flash(client, response)


def test_existing_account_is_linked_only_after_its_password(client, ctx, sso_on):
    owner = make_user("owner@example.org")
    db.session.commit()
    response = _dance(client, "sub-owner", _verified("owner@example.org"))
    assert response.headers["Location"].endswith("/auth/oauth/link")
    assert not _signed_in(client)
    assert db.session.scalar(select(SignInIdentity.id)) is None

    wrong = post_form(client, "/auth/oauth/link", {"password": "not the password"})
    assert wrong.status_code == 200 and "Wrong e-mail address or password" in wrong.get_data(
        as_text=True
    )
    assert db.session.scalar(select(SignInIdentity.id)) is None
    assert not _signed_in(client)

    linked = post_form(client, "/auth/oauth/link", {"password": PASSWORD})
    assert linked.status_code == 302 and linked.headers["Location"].endswith("/account")
    assert _signed_in(client)
    identity = db.session.scalar(select(SignInIdentity))
    assert identity.user_id == owner.id and identity.subject == "sub-owner"
    assert db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "auth.provider_linked")
    )


def test_unverified_account_is_confirmed_by_the_provider_and_its_password(client, ctx, sso_on):
    make_user("late@example.org", verified=False)
    db.session.commit()
    _dance(client, "sub-late", _verified("late@example.org"))
    response = post_form(client, "/auth/oauth/link", {"password": PASSWORD})
    assert response.headers["Location"].endswith("/account")
    user = db.session.scalar(select(User).where(User.email == "late@example.org"))
    assert user.is_verified


def test_staff_are_sent_to_the_second_step_after_single_sign_on(client, ctx, sso_on):
    staff = make_user("staff@example.org", roles=["membership"])
    staff.totp_confirmed_at = utcnow()
    db.session.add(SignInIdentity(provider="oidc", subject="sub-staff", user_id=staff.id))
    db.session.commit()
    response = _dance(client, "sub-staff", _verified("staff@example.org"))
    assert response.headers["Location"].endswith("/auth/2fa")
    assert not _signed_in(client)
    assert client.get("/staff/").status_code == 302


def test_staff_without_a_second_factor_set_one_up_after_single_sign_on(
    client, ctx, sso_on, app, monkeypatch
):
    monkeypatch.setitem(app.config, "REQUIRE_2FA_FOR_STAFF", True)
    staff = make_user("nofactor@example.org", roles=["organiser"])
    db.session.add(SignInIdentity(provider="oidc", subject="sub-nofactor", user_id=staff.id))
    db.session.commit()
    response = _dance(client, "sub-nofactor", _verified("nofactor@example.org"))
    assert "/account/security/totp" in response.headers["Location"]
    assert client.get("/staff/").status_code == 302  # no staff page before the second factor


def _link_url(client) -> str:
    html = client.get("/account/security").get_data(as_text=True)
    match = re.search(r'href="([^"]+)"\s+data-link-provider="oidc"', html)
    assert match, "the security page offers to link the provider"
    return match.group(1).replace("&amp;", "&")


def test_link_and_unlink_from_the_security_page(client, ctx, sso_on):
    user = make_user("linker@example.org")
    db.session.commit()
    login(client, "linker@example.org")
    response = _dance(
        client, "sub-linker", _verified("other-address@example.org"), start=_link_url(client)
    )
    assert response.headers["Location"].endswith("/account/security")
    identity = db.session.scalar(select(SignInIdentity))
    assert identity.user_id == user.id and identity.email == "other-address@example.org"
    page = client.get("/account/security").get_data(as_text=True)
    assert 'data-identity="oidc"' in page and "Loopback ID" in page

    response = post_form(
        client,
        f"/account/security/providers/{identity.id}/unlink",
        {},
        page_url="/account/security",
    )
    assert response.status_code == 302
    assert db.session.scalar(select(SignInIdentity.id)) is None  # the password remains


def test_link_start_needs_the_owners_token(client, ctx, sso_on):
    make_user("tokenless@example.org")
    db.session.commit()
    login(client, "tokenless@example.org")
    assert client.get("/auth/oauth/oidc?link=forged").status_code == 400
    other = make_user("other@example.org")
    db.session.commit()
    from app.auth.sso_routes import link_token

    stolen = link_token(other.id, "oidc")
    assert client.get(f"/auth/oauth/oidc?link={stolen}").status_code == 400


def test_an_identity_linked_elsewhere_is_not_moved(client, ctx, sso_on):
    first = make_user("first@example.org")
    make_user("second@example.org")
    db.session.add(SignInIdentity(provider="oidc", subject="sub-taken", user_id=first.id))
    db.session.commit()
    login(client, "second@example.org")
    response = _dance(client, "sub-taken", _verified("first@example.org"), start=_link_url(client))
    assert "already linked to another account" in _flash(client, response)
    identity = db.session.scalar(select(SignInIdentity))
    assert identity.user_id == first.id


def test_the_last_way_to_sign_in_cannot_be_unlinked(app, client, ctx, sso_on):
    _dance(client, "sub-only", _verified("only@example.org"))
    post_form(client, "/auth/oauth/complete", {"name": "Only SSO", "accept_privacy": "y"})
    identity = db.session.scalar(select(SignInIdentity))
    response = post_form(
        client,
        f"/account/security/providers/{identity.id}/unlink",
        {},
        page_url="/account/security",
        follow_redirects=True,
    )
    assert "only way to sign in" in response.get_data(as_text=True)
    assert db.session.scalar(select(SignInIdentity.id)) == identity.id

    # With a passkey as another way in, unlinking is allowed.
    headers = {"X-CSRFToken": csrf_from(client.get("/account/security").get_data(as_text=True))}
    options = client.post("/account/security/passkeys/options", headers=headers, json={})
    answer = SoftAuthenticator().register(options.get_json(), app.config["BASE_URL"])
    assert (
        client.post(
            "/account/security/passkeys", headers=headers, json={"credential": answer}
        ).status_code
        == 200
    )
    response = post_form(
        client,
        f"/account/security/providers/{identity.id}/unlink",
        {},
        page_url="/account/security",
    )
    assert db.session.scalar(select(SignInIdentity.id)) is None
