"""Webhooks: signed deliveries to a real receiver on loopback, retries, redelivery, the SSRF
guard, the events the domains emit, and the admin pages."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from app.checkin.redeem import Scanner, check_in_by_hand
from app.core.audit import AuditEntry
from app.core.errors import DomainError
from app.core.jobs import Job, commit
from app.core.relay import relay_once
from app.core.timeutil import utcnow
from app.events import registrations
from app.extensions import db
from app.members import lifecycle
from app.members.records import update_record
from app.polls.setup import close_poll
from app.webhooks import sending, services
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_event, make_poll, make_registration, make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member


class Receiver:
    """An HTTP server on loopback that records requests and answers with the given statuses."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/felag"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over "<t>.<body>" and compare."""
    parts = dict(item.split("=", 1) for item in headers["Felag-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(parts["v1"], expected.hexdigest())


def endpoint_for(url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    admin = make_user(roles=["admin"])
    return services.create_endpoint(url, events, "Test receiver", admin.id)


def deliveries() -> list[WebhookDelivery]:
    return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def test_a_registration_is_delivered_signed_to_the_receiver(ctx, receiver, run_jobs, allow_private):
    endpoint, secret = endpoint_for(receiver.url, ["registration.confirmed"])
    event = make_event(capacity=5)
    person = make_user()
    registration = registrations.register(event.id, person, accepted_terms=True)
    commit()
    run_jobs()
    [request] = receiver.requests
    assert request["path"] == "/hooks/felag"
    assert verify(secret, request["headers"], request["body"])
    assert not verify("whsec_another", request["headers"], request["body"])
    body = json.loads(request["body"])
    assert body["type"] == "registration.confirmed"
    assert body["data"] == {
        "registration_id": registration.id,
        "event_id": event.id,
        "user_id": person.id,
        "state": "confirmed",
    }
    assert request["headers"]["Felag-Event"] == "registration.confirmed"
    assert request["headers"]["Felag-Event-Id"] == body["id"]
    assert request["headers"]["Content-Type"] == "application/json"
    [delivery] = deliveries()
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)
    assert delivery.response_ms is not None and delivery.delivered_at is not None
    assert delivery.endpoint_id == endpoint.id


def test_an_event_nobody_subscribed_to_writes_nothing(ctx, receiver, allow_private):
    endpoint_for(receiver.url, ["poll.closed"])
    event = make_event()
    registrations.register(event.id, make_user(), accepted_terms=True)
    assert deliveries() == []


def test_a_paused_endpoint_gets_nothing(ctx, receiver, allow_private):
    endpoint, _secret = endpoint_for(receiver.url, ["registration.confirmed"])
    endpoint.active = False
    db.session.flush()
    registrations.register(make_event().id, make_user(), accepted_terms=True)
    assert deliveries() == []


def test_a_500_is_retried_with_back_off_then_delivered(ctx, receiver, run_jobs, allow_private):
    receiver.statuses = [500]
    endpoint_for(receiver.url, ["registration.cancelled"])
    event = make_event()
    registration = make_registration(event)
    registrations.cancel_registration(registration.id)
    commit()
    run_jobs(raise_failures=False)
    [delivery] = deliveries()
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("failed", 500, 1)
    assert delivery.error == "HTTP 500"
    job = db.session.scalar(select(Job).where(Job.kind.like("%webhooks.tasks:deliver")))
    assert job.state == "failed"
    # The outbox waits before the next attempt (JOBS_BACKOFF_SECONDS, with jitter).
    assert job.run_at > utcnow() + timedelta(seconds=5)
    assert relay_once() == 0  # not due yet
    db.session.execute(update(Job).where(Job.id == job.id).values(run_at=utcnow()))
    commit()
    assert relay_once() == 1
    run_jobs()
    db.session.refresh(delivery)
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("delivered", 200, 2)
    first, second = receiver.requests
    assert first["headers"]["Felag-Event-Id"] == second["headers"]["Felag-Event-Id"]


def test_admin_redelivers_an_event(app, ctx, receiver, run_jobs, allow_private):
    _endpoint, secret = endpoint_for(receiver.url, ["checkin.created"])
    admin = make_user("webhook-admin@example.org", roles=["admin"])
    event = make_event(days_ahead=0)
    registration = make_registration(event)
    check_in_by_hand(event.id, registration.id, Scanner(admin.id, admin.name, "test", "staff"))
    commit()
    run_jobs()
    [delivery] = deliveries()
    client = app.test_client()
    login(client, "webhook-admin@example.org")
    page_url = f"/staff/webhooks/{delivery.endpoint_id}"
    answer = post_form(
        client, f"/staff/webhooks/deliveries/{delivery.id}/redeliver", {}, page_url=page_url
    )
    assert answer.status_code == 302
    run_jobs()
    first, again = deliveries()
    assert again.event_id == first.event_id and again.id != first.id
    assert again.state == "delivered"
    assert [r["headers"]["Felag-Event-Id"] for r in receiver.requests] == [first.event_id] * 2
    assert receiver.requests[1]["headers"]["Felag-Delivery"] == str(again.id)
    assert verify(secret, receiver.requests[1]["headers"], receiver.requests[1]["body"])
    body = json.loads(receiver.requests[1]["body"])
    assert body["type"] == "checkin.created" and body["data"]["registration_id"] == registration.id
    # The endpoint's page lists both deliveries with status code, attempts and response time.
    page = client.get(page_url).get_data(as_text=True)
    assert page.count('data-status-code>200</td>') == 2
    assert page.count('data-attempts>1</td>') == 2
    assert again.response_ms is not None and page.count(" ms</td>") == 2


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


def test_the_domains_emit_their_events(ctx, receiver, allow_private):
    endpoint_for(receiver.url, sorted(services.EVENTS))
    staff = make_user(roles=["membership"])
    member = make_member(staff=staff)
    update_record(member, {"city": "Akureyri"}, staff.id)
    lifecycle.end_membership(member, staff.id, "moved")
    event = make_event(days_ahead=1)
    registration = registrations.register(event.id, make_user(), accepted_terms=True)
    check_in_by_hand(event.id, registration.id, Scanner(staff.id, staff.name, "t", "staff"))
    other = make_registration(event)
    registrations.cancel_registration(other.id)
    poll = make_poll()
    close_poll(poll, staff.id)
    sent = [(d.event, d.payload) for d in deliveries()]
    assert [name for name, _data in sent] == [
        "member.created",
        "member.updated",
        "member.ended",
        "registration.confirmed",
        "checkin.created",
        "registration.cancelled",
        "poll.closed",
    ]
    assert sent[1][1] == {
        "membership_id": member.id,
        "user_id": member.user_id,
        "status": "active",
        "changed": ["city"],
    }
    assert sent[2][1]["status"] == "resigned"
    assert sent[6][1]["poll_id"] == poll.id
    # Thin payloads: no names, addresses or e-mail addresses go out.
    assert "Akureyri" not in json.dumps(sent) and "@" not in json.dumps(sent)


def test_webhook_pages_are_for_admins_only(app, ctx):
    make_user("organiser-wh@example.org", roles=["organiser"])
    endpoint, _secret = endpoint_for("https://hooks.example.org/felag", ["member.created"])
    commit()
    anonymous = app.test_client()
    assert anonymous.get("/staff/webhooks/").status_code == 302
    organiser = app.test_client()
    login(organiser, "organiser-wh@example.org")
    for url in ("/staff/webhooks/", "/staff/webhooks/new", f"/staff/webhooks/{endpoint.id}"):
        assert organiser.get(url).status_code == 403
    assert organiser.post(f"/staff/webhooks/{endpoint.id}/delete").status_code in (400, 403)
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None


def test_admin_creates_edits_and_reads_the_secret(app, ctx):
    make_user("admin-wh@example.org", roles=["admin"])
    commit()
    client = app.test_client()
    login(client, "admin-wh@example.org")
    refused = post_form(
        client,
        "/staff/webhooks/new",
        {"url": "https://192.168.1.5/hook", "events": ["member.created"], "description": ""},
    )
    assert refused.status_code == 200
    assert "private or reserved address" in refused.get_data(as_text=True)
    assert db.session.scalar(select(WebhookEndpoint.id)) is None
    created = post_form(
        client,
        "/staff/webhooks/new",
        {"url": "https://hooks.example.org/felag", "events": ["member.created", "poll.closed"]},
    )
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and 'data-webhook-secret="whsec_' in html
    endpoint = db.session.scalar(select(WebhookEndpoint))
    shown = html.split('data-webhook-secret="', 1)[1].split('"', 1)[0]
    assert shown not in endpoint.secret_encrypted  # stored encrypted
    assert endpoint.events == ["member.created", "poll.closed"]
    edit_url = f"/staff/webhooks/{endpoint.id}/edit"
    post_form(client, edit_url, {"url": "https://hooks.example.org/v2", "events": ["poll.closed"]})
    db.session.refresh(endpoint)
    assert (endpoint.url, endpoint.events, endpoint.active) == (
        "https://hooks.example.org/v2",
        ["poll.closed"],
        False,  # the box was not ticked
    )
    revealed = post_form(
        client,
        f"/staff/webhooks/{endpoint.id}/secret",
        {},
        page_url=f"/staff/webhooks/{endpoint.id}",
    )
    assert shown in revealed.get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "webhook").order_by(AuditEntry.id)
    ).all()
    assert actions == ["webhook.created", "webhook.updated", "webhook.secret_revealed"]
    assert shown not in json.dumps(
        [e.after for e in db.session.scalars(select(AuditEntry)).all()], default=str
    )
    listing = client.get("/staff/webhooks/").get_data(as_text=True)
    assert "https://hooks.example.org/v2" in listing


def test_old_deliveries_are_pruned(ctx, allow_private):
    from app.webhooks.tasks import KEEP_DAYS, prune_deliveries

    endpoint, _secret = endpoint_for("https://hooks.example.org/x", ["poll.closed"])
    old = WebhookDelivery(endpoint_id=endpoint.id, event="poll.closed", event_id="a", payload={})
    new = WebhookDelivery(endpoint_id=endpoint.id, event="poll.closed", event_id="b", payload={})
    old.created_at = utcnow() - timedelta(days=KEEP_DAYS + 1)
    db.session.add_all([old, new])
    db.session.flush()
    assert prune_deliveries() == 1
    assert [d.event_id for d in deliveries()] == ["b"]


def _self_signed(tmp_path, host: str):
    """A certificate and key for `host`, signed by itself (PEM files)."""
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_https_checks_the_certificate_for_the_host_name(
    ctx, receiver, tmp_path, monkeypatch, allow_private
):
    """The connection goes to the checked address, yet TLS still verifies the certificate for
    the URL's host name: an untrusted certificate is refused, a trusted one for the name works."""
    import ssl

    cert, key = _self_signed(tmp_path, "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    url = f"https://localhost:{receiver.port}/hook"
    untrusted = sending.post(url, b"{}", {})
    assert untrusted.status is None and untrusted.error
    assert receiver.requests == []
    monkeypatch.setattr(sending.certifi, "where", lambda: cert)  # now the CA we trust
    trusted = sending.post(url, b"{}", {})
    assert (trusted.status, trusted.error) == (200, None)
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"
