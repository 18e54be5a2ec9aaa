"""Webhook endpoints (admins register them) and events (the domains emit them).

`emit(event, data)` is called by a domain's service in its own transaction: it writes one
delivery row per subscribed endpoint and asks the outbox for its job (ids only), so an event is
sent only if the change it tells of is committed, and retries come from the relay.
Payloads are thin: ids and states, no personal details; a receiver reads more through the API.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event as orm_event
from sqlalchemy import select

from app.core import audit
from app.core.crypto import decrypt, encrypt
from app.core.errors import DomainError, NotFound
from app.core.jobs import enqueue_after_commit
from app.extensions import db
from app.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from app.webhooks.sending import url_problem
from app.webhooks.tasks import deliver

# Which events have an active endpoint, kept per process for a few seconds: the check-in and
# registration paths ask on every call and there are usually no endpoints at all. A change in
# this process clears it at once; other processes see a new endpoint within this time.
SUBSCRIPTIONS_TTL = 5.0
_subscriptions: dict[str, Any] = {"until": 0.0, "events": frozenset()}


def _subscribed_events() -> frozenset[str]:
    if _subscriptions["until"] > time.monotonic():
        return _subscriptions["events"]
    rows = db.session.scalars(select(WebhookEndpoint.events).where(WebhookEndpoint.active)).all()
    events = frozenset(name for names in rows for name in (names or []))
    _subscriptions.update(until=time.monotonic() + SUBSCRIPTIONS_TTL, events=events)
    return events


@orm_event.listens_for(WebhookEndpoint, "after_insert")
@orm_event.listens_for(WebhookEndpoint, "after_update")
@orm_event.listens_for(WebhookEndpoint, "after_delete")
def _forget_subscriptions(mapper, connection, target) -> None:
    _subscriptions["until"] = 0.0


def emit(event: str, data: dict[str, Any]) -> int:
    """Queue the event for every active endpoint subscribed to it; returns how many."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event}")
    if event not in _subscribed_events():
        return 0
    endpoints = db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active)
    ).all()
    event_id = str(uuid.uuid4())
    deliveries = [
        WebhookDelivery(endpoint_id=row.id, event=event, event_id=event_id, payload=data)
        for row in endpoints
        if event in (row.events or [])
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    for delivery in deliveries:
        enqueue_after_commit(deliver, delivery.id)
    return len(deliveries)


# --- endpoints (admins) ---------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean(url: str, events: list[str], description: str) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    problem = url_problem(url) if url else str(_l("Enter the URL."))
    if problem:
        raise DomainError(problem, field="url")
    if len(url) > 500:
        raise DomainError(_l("The URL is too long."), field="url")
    chosen = [name for name in EVENTS if name in set(events or [])]
    if not chosen or len(chosen) != len(set(events)):
        raise DomainError(_l("Choose at least one event."), field="events")
    return url, chosen, (description or "").strip()[:200]


def _settings(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
    }


def create_endpoint(
    url: str, events: list[str], description: str, actor_id: int
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; its secret is returned in clear this once (stored encrypted)."""
    url, events, description = _clean(url, events, description)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        events=events,
        description=description,
        secret_encrypted=encrypt(secret),
        active=True,
        created_by_id=actor_id,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        "webhook.created", "webhook", endpoint.id, after=_settings(endpoint), actor_id=actor_id
    )
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint,
    url: str,
    events: list[str],
    description: str,
    active: bool,
    actor_id: int,
) -> None:
    """Change an endpoint's URL, events, description or whether it is active."""
    url, events, description = _clean(url, events, description)
    before = _settings(endpoint)
    endpoint.url, endpoint.events, endpoint.description = url, events, description
    endpoint.active = bool(active)
    after = _settings(endpoint)
    if before != after:
        db.session.flush()
        audit.record("webhook.updated", "webhook", endpoint.id, before, after, actor_id=actor_id)


def delete_endpoint(endpoint: WebhookEndpoint, actor_id: int) -> None:
    """Remove an endpoint and its delivery history."""
    audit.record(
        "webhook.deleted", "webhook", endpoint.id, before=_settings(endpoint), actor_id=actor_id
    )
    db.session.delete(endpoint)
    db.session.flush()


def reveal_secret(endpoint: WebhookEndpoint, actor_id: int) -> str:
    """The endpoint's secret in clear, for an admin; the look is audited."""
    audit.record("webhook.secret_revealed", "webhook", endpoint.id, actor_id=actor_id)
    return decrypt(endpoint.secret_encrypted)


def rotate_secret(endpoint: WebhookEndpoint, actor_id: int) -> str:
    """A new secret (the old one stops signing at once); returned in clear this once."""
    secret = new_secret()
    endpoint.secret_encrypted = encrypt(secret)
    db.session.flush()
    audit.record("webhook.secret_rotated", "webhook", endpoint.id, actor_id=actor_id)
    return secret


def redeliver(delivery_id: int, actor_id: int) -> WebhookDelivery:
    """Send a delivery's event again as a new delivery (same event id, new history row)."""
    old = db.session.get(WebhookDelivery, delivery_id)
    if old is None:
        raise NotFound(_l("There is no such delivery."))
    again = WebhookDelivery(
        endpoint_id=old.endpoint_id, event=old.event, event_id=old.event_id, payload=old.payload
    )
    db.session.add(again)
    db.session.flush()
    audit.record(
        "webhook.redelivered",
        "webhook",
        old.endpoint_id,
        after={"delivery": old.id, "event_id": old.event_id},
        actor_id=actor_id,
    )
    enqueue_after_commit(deliver, again.id)
    return again
