"""Webhooks: signed deliveries to a real receiver on loopback, retries, redelivery, the events
the domains emit, and the admin pages (the SSRF guard: test_webhooks_guard.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.checkin.redeem import Scanner, check_in_by_hand
from app.core.audit import AuditEntry
from app.core.jobs import Job, commit
from app.core.relay import relay_once
from app.core.timeutil import utcnow
from app.events import registrations
from app.extensions import db
from app.members import lifecycle
from app.members.records import update_record
from app.polls.setup import close_poll
from app.webhooks import services
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_event, make_poll, make_registration, make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member
from tests.webhook_helpers import Receiver, deliveries, endpoint_for, verify


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)


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


def test_a_500_is_retried_with_back_off_then_delivered(ctx, app, receiver, run_jobs, allow_private):
    receiver.statuses = [500]
    endpoint_for(receiver.url, ["registration.cancelled"])
    event = make_event()
    registration = make_registration(event)
    registrations.cancel_registration(registration.id)
    commit()
    before = utcnow()
    run_jobs(raise_failures=False)
    [delivery] = deliveries()
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("failed", 500, 1)
    assert delivery.error == "HTTP 500"
    job = db.session.scalar(select(Job).where(Job.kind.like("%webhooks.tasks:deliver")))
    assert job.state == "failed"
    # The outbox waits before the next attempt (JOBS_BACKOFF_SECONDS, jitter 0.75-1.25).
    assert job.run_at >= before + timedelta(seconds=app.config["JOBS_BACKOFF_SECONDS"] * 0.75)
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
    assert page.count("data-status-code>200</td>") == 2
    assert page.count("data-attempts>1</td>") == 2
    assert again.response_ms is not None and page.count(" ms</td>") == 2


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
