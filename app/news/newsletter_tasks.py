"""Background jobs for newsletters: the hourly sweep of unconfirmed addresses, the batch send.

Each job loads its rows by id, is safe to run twice and commits itself. E-mails go through the
outbox (core/mail), whose unique key per newsletter and recipient sends each one once.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from app.auth.models import User
from app.core.jobs import commit, enqueue_after_commit, periodic
from app.core.mail import OutboxMessage, queue_mail, send_outbox_batch
from app.extensions import db
from app.news import newsletters
from app.news.newsletter_models import Newsletter, NewsletterSubscriber

log = logging.getLogger(__name__)


@periodic(seconds=3600)
def sweep_unconfirmed_subscribers() -> int:
    """Delete newsletter addresses not confirmed within a week (hourly). Commits."""
    deleted = newsletters.delete_unconfirmed()
    db.session.commit()
    if deleted:
        log.info("Deleted %s unconfirmed newsletter addresses", deleted)
    return deleted


BATCH = 200


def send_newsletter_batch(newsletter_id: int, phase: str = "users", after_id: int = 0) -> str:
    """Queue one batch of a newsletter's e-mails (accounts, then addresses without one).

    Each e-mail's outbox key names the newsletter and the recipient, so a rerun queues nothing
    twice; the next batch is asked for under a key too, so it is asked for once.
    """
    newsletter = db.session.get(Newsletter, newsletter_id)
    if newsletter is None or newsletter.state != "sending":
        return "stale"
    if phase == "users":
        query = newsletters.audience_users(newsletter).where(User.id > after_id).order_by(User.id)
    else:
        query = newsletters.audience_subscribers(newsletter)
        if query is None:
            return _finish(newsletter)
        query = query.where(NewsletterSubscriber.id > after_id).order_by(NewsletterSubscriber.id)
    rows = db.session.execute(query.limit(BATCH)).all()
    contexts: dict[str, dict] = {}
    message_ids = []
    for recipient_id, email, locale in rows:
        locale = newsletters.recipient_locale(locale)
        if locale not in contexts:
            contexts[locale] = newsletters.mail_context(newsletter, locale)
        context, headers = dict(contexts[locale]), {}
        if phase == "subscribers":
            link = newsletters.subscriber_unsubscribe_url(recipient_id, email)
            context["unsubscribe_url"] = link
            headers = {
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        message = queue_mail(
            email,
            "newsletter",
            locale,
            context,
            key=f"newsletter:{newsletter.id}:{phase}:{recipient_id}",
            user_id=recipient_id if phase == "users" else None,
            # A required notice is not the newsletter: the newsletter unsubscribe does not apply.
            bulk=phase == "users" and not newsletter.required_notice,
            headers=headers,
            batch_key=newsletter.batch_key,
            send=False,  # sent below, the whole batch over one SMTP connection
        )
        if message.state == "queued":
            message_ids.append(message.id)
    if message_ids:
        enqueue_after_commit(
            send_outbox_batch,
            message_ids,
            queue="mail",
            key=f"newsletter-send:{newsletter.id}:{phase}:{after_id}",
        )
    if len(rows) == BATCH:
        next_phase, next_after = phase, rows[-1][0]
    elif phase == "users":
        next_phase, next_after = "subscribers", 0
    else:
        return _finish(newsletter, len(rows))
    enqueue_after_commit(
        send_newsletter_batch,
        newsletter.id,
        next_phase,
        next_after,
        queue="mail",
        key=f"newsletter:{newsletter.id}:{next_phase}:{next_after}",
    )
    commit()
    return f"queued {len(rows)}"


def _finish(newsletter: Newsletter, queued: int = 0) -> str:
    """Every batch is queued: the newsletter is sent (its e-mails go out as the workers send)."""
    newsletter.state = "sent"
    newsletter.recipient_count = db.session.scalar(
        select(func.count()).where(OutboxMessage.batch_key == newsletter.batch_key)
    )
    commit()
    return f"queued {queued}, done"
