"""Single sign-on providers (GitHub, Google, Discord, any OpenID Connect issuer) through Authlib.

A provider is on when OAUTH_PROVIDERS names it and its client id is set (and, for the generic
issuer, OAUTH_OIDC_METADATA_URL). Authlib keeps `state`, the OIDC `nonce` and the PKCE verifier
in the session and checks them on the way back; this module turns the provider's answer into a
`Profile`: a stable subject and an e-mail address, with the provider's word on whether it is
verified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.auth.sign_in_models import PROVIDERS
from app.core.errors import DomainError

if TYPE_CHECKING:
    from authlib.integrations.flask_client import FlaskOAuth2App

# Authlib (with requests and joserfc) is imported by the sign-on steps alone: a web worker that
# never sees a provider does not carry it (issue 13).

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10
OIDC_SCOPE = "openid email profile"
SETTINGS = {
    "github": {
        "authorize_url": "https://github.com/login/oauth/authorize",
        "access_token_url": "https://github.com/login/oauth/access_token",
        "api_base_url": "https://api.github.com/",
        "scope": "read:user user:email",
    },
    "google": {
        "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
        "scope": OIDC_SCOPE,
    },
    "discord": {
        "authorize_url": "https://discord.com/oauth2/authorize",
        "access_token_url": "https://discord.com/api/oauth2/token",
        "api_base_url": "https://discord.com/api/",
        "scope": "identify email",
    },
    "oidc": {"scope": OIDC_SCOPE},
}
LABELS = {"github": "GitHub", "google": "Google", "discord": "Discord"}


class SignInFailed(DomainError):
    """The provider's answer could not be used to sign in."""

    status = 400
    code = "sso_failed"


@dataclass(frozen=True)
class Profile:
    """What a provider says about the person who signed in."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def label(provider: str) -> str:
    """The provider's name on buttons and pages."""
    if provider == "oidc":
        return current_app.config.get("OAUTH_OIDC_NAME") or "OpenID Connect"
    return LABELS.get(provider, provider)


def _setting(provider: str, name: str) -> str:
    return (current_app.config.get(f"OAUTH_{provider.upper()}_{name}") or "").strip()


def enabled_providers() -> list[str]:
    """The providers switched on by the configuration, in the order OAUTH_PROVIDERS lists them."""
    names = current_app.config.get("OAUTH_PROVIDERS") or []
    if isinstance(names, str):
        names = names.split(",")
    enabled = []
    for name in (n.strip().lower() for n in names):
        if name not in PROVIDERS or name in enabled or not _setting(name, "CLIENT_ID"):
            continue
        if name == "oidc" and not current_app.config.get("OAUTH_OIDC_METADATA_URL"):
            continue
        enabled.append(name)
    return enabled


def is_enabled(provider: str) -> bool:
    return provider in enabled_providers()


def client(provider: str) -> FlaskOAuth2App:
    """The Authlib client for a provider, made once per configuration (it caches the metadata)."""
    from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App

    settings = dict(SETTINGS[provider])
    if provider == "oidc":
        settings["server_metadata_url"] = current_app.config["OAUTH_OIDC_METADATA_URL"]
    client_id, secret = _setting(provider, "CLIENT_ID"), _setting(provider, "CLIENT_SECRET")
    key = (provider, client_id, secret, tuple(sorted(settings.items())))
    cache = current_app.extensions.setdefault("felag_sso_clients", {})
    if key not in cache:
        scope = settings.pop("scope")
        cache[key] = FlaskOAuth2App(
            FlaskIntegration(provider),
            name=provider,
            client_id=client_id,
            client_secret=secret,
            client_kwargs={
                "scope": scope,
                "code_challenge_method": "S256",
                "default_timeout": HTTP_TIMEOUT,
            },
            **settings,
        )
    return cache[key]


def authorize_redirect(provider: str, callback_url: str):
    """The redirect to the provider's sign-in page (state, nonce and PKCE kept in the session)."""
    from authlib.integrations.base_client import OAuthError
    from requests import RequestException

    try:
        return client(provider).authorize_redirect(callback_url)
    except (RequestException, ValueError, OAuthError) as exc:
        log.warning("Could not reach the sign-in provider %s: %s", provider, type(exc).__name__)
        raise SignInFailed(
            _l("%(provider)s could not be reached. Try again later.", provider=label(provider))
        ) from exc


def _verified(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _github_profile(app: FlaskOAuth2App, token: dict) -> Profile:
    user = app.get("user", token=token)
    user.raise_for_status()
    data = user.json()
    emails = app.get("user/emails", token=token)
    emails.raise_for_status()
    listed = [e for e in emails.json() if isinstance(e, dict) and e.get("email")]
    # The primary address if GitHub verified it, else another verified one, else none at all.
    chosen = next((e for e in listed if e.get("primary") and e.get("verified") is True), None)
    chosen = chosen or next((e for e in listed if e.get("verified") is True), None)
    chosen = chosen or next((e for e in listed if e.get("primary")), None)
    return Profile(
        "github",
        str(data["id"]),
        chosen["email"] if chosen else None,
        bool(chosen and chosen.get("verified") is True),
        data.get("name") or data.get("login"),
    )


def _discord_profile(app: FlaskOAuth2App, token: dict) -> Profile:
    response = app.get("users/@me", token=token)
    response.raise_for_status()
    data = response.json()
    return Profile(
        "discord",
        str(data["id"]),
        data.get("email"),
        data.get("verified") is True,
        data.get("global_name") or data.get("username"),
    )


def _oidc_profile(provider: str, app: FlaskOAuth2App, token: dict) -> Profile:
    claims = token.get("userinfo")
    if not claims:  # no ID token (so no nonce checked): not an OpenID Connect answer
        raise SignInFailed(_l("The sign-in provider gave an incomplete answer. Try again."))
    claims = dict(claims)
    if "email" not in claims:
        extra = app.userinfo(token=token)
        if extra.get("sub") == claims.get("sub"):
            claims.update({k: extra[k] for k in ("email", "email_verified", "name") if k in extra})
    return Profile(
        provider,
        str(claims["sub"]),
        claims.get("email"),
        _verified(claims.get("email_verified")),
        claims.get("name") or claims.get("preferred_username"),
    )


def fetch_profile(provider: str) -> Profile:
    """Finish the redirect dance (state, PKCE, ID token and nonce checked) and read the person."""
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError
    from requests import RequestException

    app = client(provider)
    try:
        token = app.authorize_access_token()
        if provider == "github":
            profile = _github_profile(app, token)
        elif provider == "discord":
            profile = _discord_profile(app, token)
        else:
            profile = _oidc_profile(provider, app, token)
    except SignInFailed:
        raise
    except OAuthError as exc:
        # error=access_denied: the person said no at the provider; anything else (a forged or
        # replayed state, a bad ID token) is a failed attempt.
        log.info("Sign-in with %s refused: %s", provider, exc.error)
        if exc.error == "access_denied":
            raise SignInFailed(
                _l("Sign-in with %(provider)s was cancelled.", provider=label(provider))
            ) from exc
        raise SignInFailed(_failed(provider)) from exc
    except (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError, TypeError) as exc:
        log.warning("Sign-in with %s failed: %s", provider, type(exc).__name__)
        raise SignInFailed(_failed(provider)) from exc
    if profile.email:
        profile = Profile(
            profile.provider,
            profile.subject[:255],
            profile.email.strip().lower()[:320],
            profile.email_verified,
            (profile.name or "").strip()[:200] or None,
        )
    return profile


def _failed(provider: str):
    return _l("Sign-in with %(provider)s did not work. Try again.", provider=label(provider))


def callback_url(provider: str) -> str:
    """The absolute callback address registered at the provider (from BASE_URL)."""
    from app.core.http import absolute_url

    return absolute_url("auth.oauth_callback", provider=provider)
