"""The webhooks' SSRF guard: https only, public addresses checked at send time and connected
to as checked, certificates verified for the host name, no redirects followed."""

from __future__ import annotations

import socket
import ssl

import certifi
import pytest
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.jobs import commit
from app.events import registrations
from app.extensions import db
from app.webhooks import sending
from app.webhooks.models import WebhookEndpoint
from tests.factories import make_event, make_user
from tests.webhook_helpers import Receiver, deliveries, endpoint_for, self_signed


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)


def test_a_redirect_is_not_followed(ctx, receiver, run_jobs, allow_private):
    receiver.statuses = [302]
    endpoint_for(receiver.url, ["registration.confirmed"])
    registrations.register(make_event().id, make_user(), accepted_terms=True)
    commit()
    run_jobs(raise_failures=False)
    [delivery] = deliveries()
    assert (delivery.state, delivery.status_code) == ("failed", 302)
    assert delivery.error == "redirect not followed"
    assert [r["path"] for r in receiver.requests] == ["/hooks/felag"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "http://example.org/hook",
        "ftp://example.org/hook",
        "https://user:pw@example.org/hook",
        "https://example.org:99999/hook",
        "not a url",
    ],
)
def test_the_guard_refuses_private_addresses_and_plain_http(ctx, url):
    with pytest.raises(DomainError) as refused:
        endpoint_for(url, ["member.created"])
    assert refused.value.field == "url"
    assert db.session.scalar(select(WebhookEndpoint.id)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}/hook",
        "https://10.0.0.1:{port}/hook",
        "https://169.254.169.254/hook",
        "https://[::1]:{port}/hook",
        "https://localhost:{port}/hook",  # a host name that resolves to loopback
    ],
)
def test_at_send_time_private_addresses_are_refused(ctx, receiver, url):
    answer = sending.post(url.format(port=receiver.port), b"{}", {})
    assert answer.status is None and answer.error.startswith("refused")
    assert receiver.requests == []


def test_a_host_name_resolving_to_loopback_is_saved_but_never_called(
    ctx, receiver, run_jobs, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    endpoint_for(f"https://localhost:{receiver.port}/hook", ["registration.confirmed"])
    registrations.register(make_event().id, make_user(), accepted_terms=True)
    commit()
    run_jobs()  # a refusal is final: no retry, no failed job
    [delivery] = deliveries()
    assert delivery.state == "failed" and delivery.error.startswith("refused")
    assert delivery.status_code is None
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(ctx, receiver, monkeypatch, app):
    """The host name is resolved once, by the guard; the connection uses that address (the
    name below does not exist in DNS, so only the checked address can have been used)."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    looked_up = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        looked_up.append(host)
        if host == "hooks.example.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(sending.socket, "getaddrinfo", fake)
    answer = sending.post(f"http://hooks.example.test:{receiver.port}/x", b"{}", {})
    assert answer.status == 200
    # The name was resolved once, by the guard; urllib3 only turned the checked literal into a
    # socket address.
    assert looked_up.count("hooks.example.test") == 1
    assert set(looked_up) == {"hooks.example.test", "127.0.0.1"}
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.example.test:{receiver.port}"


def test_https_checks_the_certificate_for_the_host_name(
    ctx, receiver, tmp_path, monkeypatch, allow_private
):
    """The connection goes to the checked address, yet TLS still verifies the certificate for
    the URL's host name: an untrusted certificate is refused, a trusted one for the name works."""
    cert, key = self_signed(tmp_path, "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    url = f"https://localhost:{receiver.port}/hook"
    untrusted = sending.post(url, b"{}", {})
    assert untrusted.status is None and untrusted.error
    assert receiver.requests == []
    monkeypatch.setattr(certifi, "where", lambda: cert)  # now the CA we trust
    trusted = sending.post(url, b"{}", {})
    assert (trusted.status, trusted.error) == (200, None)
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"
