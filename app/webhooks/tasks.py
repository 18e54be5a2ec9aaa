"""The delivery job: sign and send one delivery; a failure raises so the outbox retries it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import delete, select

from app.core.crypto import decrypt
from app.core.periodic import periodic
from app.core.timeutil import utcnow
from app.extensions import db
from app.webhooks.models import WebhookDelivery
from app.webhooks.sending import post, signature_header

USER_AGENT = "Felag-Webhooks/1.0"
# Deliveries are kept this long for admins to look at and send again, then deleted.
KEEP_DAYS = 90
PRUNE_BATCH = 5000


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; the job's retry sends it again after a back-off."""


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON sent: the event's id, type, time and data."""
    envelope = {
        "id": delivery.event_id,
        "type": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(delivery_id: int) -> str:
    """Send one delivery unless it was delivered already or its endpoint is gone or paused."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state == "delivered":
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.active:
        delivery.state, delivery.error = "failed", "endpoint paused"
        db.session.commit()
        return "skipped"
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Felag-Event": delivery.event,
        "Felag-Event-Id": delivery.event_id,
        "Felag-Delivery": str(delivery.id),
        "Felag-Signature": signature_header(
            decrypt(endpoint.secret_encrypted), int(time.time()), body
        ),
    }
    answer = post(endpoint.url, body, headers)
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    delivery.status_code = answer.status
    delivery.response_ms = answer.milliseconds
    delivery.error = answer.error[:300] if answer.error else None
    if answer.error is None:
        delivery.state, delivery.delivered_at = "delivered", utcnow()
    else:
        delivery.state = "failed"
    db.session.commit()
    if answer.error is not None and not answer.error.startswith("refused"):
        raise DeliveryFailed(answer.error)
    return delivery.state


@periodic(seconds=86400)
def prune_deliveries() -> int:
    """Delete deliveries older than KEEP_DAYS, a batch at a time; returns how many."""
    cutoff = utcnow() - timedelta(days=KEEP_DAYS)
    removed = 0
    while True:
        ids = db.session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.created_at < cutoff).limit(PRUNE_BATCH)
        ).all()
        if not ids:
            return removed
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
