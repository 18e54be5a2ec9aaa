"""GitHub and Discord sign-in against stand-ins on loopback that answer like their APIs: the
address is taken only when the provider marks it verified, and PKCE is sent (the stand-in's token
endpoint refuses a wrong verifier)."""

from __future__ import annotations

import base64
import hashlib
import threading
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server

from app.auth import sso
from tests.conftest import free_port


class StandIn:
    """An OAuth 2 provider with GitHub's and Discord's user endpoints."""

    def __init__(self):
        self.emails: list[dict] = []
        self.discord: dict = {}
        self.challenges: dict[str, str] = {}
        app = Flask(__name__)

        @app.get("/authorize")
        def authorize():
            code = f"code-{len(self.challenges)}"
            assert request.args["code_challenge_method"] == "S256"
            self.challenges[code] = request.args["code_challenge"]
            query = urlencode({"code": code, "state": request.args["state"]})
            return redirect(f"{request.args['redirect_uri']}?{query}")

        @app.post("/token")
        def token():
            verifier = request.form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = self.challenges.pop(request.form.get("code", ""), None)
            if expected != base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
                return jsonify({"error": "invalid_grant"}), 400
            return jsonify({"access_token": "token-1", "token_type": "bearer"})

        @app.get("/api/user")
        def github_user():
            return jsonify({"id": 4242, "login": "octocat", "name": "Octo Cat"})

        @app.get("/api/user/emails")
        def github_emails():
            return jsonify(self.emails)

        @app.get("/api/users/@me")
        def discord_user():
            return jsonify({"id": "80351110224678912", "username": "nelly", **self.discord})

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def stand_in():
    provider = StandIn()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def providers_on(app, stand_in, monkeypatch):
    monkeypatch.setitem(app.config, "OAUTH_PROVIDERS", ["github", "discord"])
    for name in ("GITHUB", "DISCORD"):
        monkeypatch.setitem(app.config, f"OAUTH_{name}_CLIENT_ID", f"{name.lower()}-client")
        monkeypatch.setitem(app.config, f"OAUTH_{name}_CLIENT_SECRET", "secret")
    for name in ("github", "discord"):
        monkeypatch.setitem(
            sso.SETTINGS,
            name,
            {
                **sso.SETTINGS[name],
                "authorize_url": f"{stand_in.url}/authorize",
                "access_token_url": f"{stand_in.url}/token",
                "api_base_url": f"{stand_in.url}/api/",
            },
        )
    return stand_in


def _sign_in(client, provider: str):
    started = client.get(f"/auth/oauth/{provider}")
    assert started.status_code == 302
    back = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    parts = urlsplit(back.headers["Location"])
    return client.get(f"{parts.path}?{parts.query}")


def _page(client, response) -> str:
    parts = urlsplit(response.headers["Location"])
    return client.get(parts.path).get_data(as_text=True)


def test_github_primary_verified_address(client, providers_on):
    providers_on.emails = [
        {"email": "old@example.org", "primary": False, "verified": True},
        {"email": "Octo@Example.org", "primary": True, "verified": True},
    ]
    response = _sign_in(client, "github")
    assert response.headers["Location"].endswith("/auth/oauth/complete")
    page = _page(client, response)
    assert "octo@example.org" in page and 'value="Octo Cat"' in page


def test_github_without_a_verified_address_is_refused(client, providers_on):
    providers_on.emails = [{"email": "octo@example.org", "primary": True, "verified": False}]
    response = _sign_in(client, "github")
    assert response.headers["Location"].endswith("/auth/login")
    assert "GitHub has not confirmed your e-mail address" in _page(client, response)


@pytest.mark.parametrize("verified", [True, False])
def test_discord_uses_its_verified_flag(client, providers_on, verified):
    providers_on.discord = {"email": "nelly@example.org", "verified": verified}
    response = _sign_in(client, "discord")
    if verified:
        assert response.headers["Location"].endswith("/auth/oauth/complete")
        assert "nelly@example.org" in _page(client, response)
    else:
        assert response.headers["Location"].endswith("/auth/login")
        assert "Discord has not confirmed your e-mail address" in _page(client, response)


def test_a_wrong_pkce_verifier_fails_the_sign_in(client, providers_on):
    """The stand-in forgets the challenge: the token request fails, and so does the sign-in."""
    providers_on.emails = [{"email": "octo@example.org", "primary": True, "verified": True}]
    started = client.get("/auth/oauth/github")
    back = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    providers_on.challenges.clear()
    parts = urlsplit(back.headers["Location"])
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.headers["Location"].endswith("/auth/login")
    assert "Sign-in with GitHub did not work" in _page(client, response)
