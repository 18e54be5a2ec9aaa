"""Newsletters: subscribers without an account (double opt-in), writing, starting a send.

Who a newsletter goes to and the batch job that sends it are in app/news/newsletter_sending.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update

from app.auth.models import User
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.http import absolute_url
from app.core.jobs import enqueue_after_commit
from app.core.mail import OutboxMessage, queue_mail
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.events.models import Event
from app.extensions import db
from app.members.consents import CONSENT_TEXTS, set_consents
from app.members.models import Group
from app.news.models import LOCALES, Post
from app.news.newsletter_models import (
    AUDIENCES,
    Newsletter,
    NewsletterSubscriber,
    NewsletterText,
)
from app.news.newsletter_sending import (
    audience_count,
    mail_context,
    recipient_locale,
    send_newsletter_batch,
    unsubscribe_signer,
)

CONFIRM_DAYS = 7  # an unconfirmed address is deleted after this (and its link stops working)


# --- subscribers without an account ------------------------------------------------------------


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="newsletter-confirm")


def _token(signer, subscriber: NewsletterSubscriber) -> str:
    # The address is in the token, so a link keeps pointing at its address even if an id is
    # ever used again (SQLite may reuse a deleted row's id).
    return signer.dumps([subscriber.id, subscriber.email])


def _subscriber_from(signer, token: str, **loads) -> NewsletterSubscriber:
    try:
        subscriber_id, email = signer.loads(token, **loads)
    except (BadSignature, SignatureExpired, TypeError, ValueError) as exc:
        raise NotFound(_l("This link is not valid or has expired.")) from exc
    subscriber = db.session.get(NewsletterSubscriber, subscriber_id)
    if subscriber is None or subscriber.email != email:
        raise NotFound(_l("This link is not valid or has expired."))
    return subscriber


def normalise_email(email: str) -> str:
    email = (email or "").strip()
    local, _sep, domain = email.rpartition("@")
    if not local or not domain or "." not in domain or len(email) > 320 or " " in email:
        raise DomainError(_l("Enter a valid e-mail address."), field="email")
    return f"{local}@{domain.lower()}"


def subscribe(email: str, locale: str) -> None:
    """Ask for the newsletter: write the request and mail a confirmation link (double opt-in).

    The answer is the same whether or not the address is known, so the form tells nobody who
    subscribes. An address that is already confirmed gets no new mail.
    """
    email = normalise_email(email)
    now = utcnow()
    with force_locale(locale):
        text = str(CONSENT_TEXTS["newsletter"])
    subscriber = db.session.scalar(
        select(NewsletterSubscriber).where(func.lower(NewsletterSubscriber.email) == email.lower())
    )
    if subscriber is None:
        subscriber = NewsletterSubscriber(
            email=email, locale=locale, requested_at=now, consent_text=text
        )
        if not add_once(subscriber):  # the same address sent twice at once: one row, one mail
            return
    elif subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        return
    else:
        subscriber.locale, subscriber.requested_at, subscriber.consent_text = locale, now, text
        subscriber.confirmed_at = subscriber.unsubscribed_at = None
        db.session.flush()
    link = absolute_url("newsletter_public.confirm", token=_token(_confirm_signer(), subscriber))
    queue_mail(
        email,
        "newsletter_confirm",
        locale,
        {"link": link, "days": CONFIRM_DAYS},
        key=f"newsletter-confirm:{subscriber.id}:{secrets.token_hex(6)}",
    )


def confirm(token: str) -> NewsletterSubscriber:
    """Confirm a subscription from the e-mailed link.

    When the address belongs to an account, the account's own newsletter consent is given (its
    history says so) and the subscriber row goes: one person, one consent.
    """
    subscriber = _subscriber_from(_confirm_signer(), token, max_age=CONFIRM_DAYS * 86400)
    user = db.session.scalar(select(User).where(func.lower(User.email) == subscriber.email.lower()))
    if user is not None:
        set_consents(user, {"newsletter": True}, actor_id=user.id, source="subscribe")
        db.session.delete(subscriber)
        db.session.flush()
        return subscriber
    if subscriber.confirmed_at is None or subscriber.unsubscribed_at is not None:
        subscriber.confirmed_at, subscriber.unsubscribed_at = utcnow(), None
        db.session.flush()
    return subscriber


def unsubscribe_token_check(token: str) -> NewsletterSubscriber:
    """The subscriber an unsubscribe link names (NotFound when it is not genuine)."""
    return _subscriber_from(unsubscribe_signer(), token)


def unsubscribe_subscriber(token: str) -> NewsletterSubscriber:
    """Stop the newsletter for an address without an account (link or one-click POST)."""
    subscriber = _subscriber_from(unsubscribe_signer(), token)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = utcnow()
        db.session.flush()
    return subscriber


def delete_unconfirmed(now=None) -> int:
    """Delete addresses not confirmed within CONFIRM_DAYS; returns how many."""
    before = (now or utcnow()) - timedelta(days=CONFIRM_DAYS)
    result = db.session.execute(
        delete(NewsletterSubscriber)
        .where(
            NewsletterSubscriber.confirmed_at.is_(None),
            NewsletterSubscriber.requested_at < before,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- writing -----------------------------------------------------------------------------------


AUDIENCE_LABELS = {
    "newsletter": _l("Everyone who wants the newsletter"),
    "members": _l("Active members"),
    "group": _l("A group"),
    "event": _l("People confirmed for an event"),
}


def save_newsletter(
    newsletter: Newsletter | None,
    *,
    language: str,
    texts: dict[str, tuple[str, str]],
    audience: str,
    group_id: int | None = None,
    event_id: int | None = None,
    required_notice: bool = False,
    members_only: bool = False,
    actor_id: int | None = None,
    post_id: int | None = None,
) -> Newsletter:
    """Create or change a draft newsletter; texts maps a language to (subject, Markdown body)."""
    if newsletter is not None and newsletter.state != "draft":
        raise DomainError(_l("This newsletter has been sent and can no longer be changed."))
    if audience not in AUDIENCES:
        raise DomainError(_l("Choose who receives it."), field="audience")
    if audience == "group" and (group_id is None or db.session.get(Group, group_id) is None):
        raise DomainError(_l("Choose a group."), field="group_id")
    if audience == "event" and (event_id is None or db.session.get(Event, event_id) is None):
        raise DomainError(_l("Choose an event."), field="event_id")
    if required_notice and audience == "newsletter":
        raise DomainError(
            _l("A required notice goes to members, a group or an event's attendees."),
            field="required_notice",
        )
    texts = {
        locale: (subject.strip(), body.strip())
        for locale, (subject, body) in texts.items()
        if locale in LOCALES and (subject or "").strip()
    }
    if language not in texts:
        raise DomainError(_l("Write a subject in the original language."), field="subject")
    now = utcnow()
    if newsletter is None:
        newsletter = Newsletter(created_by_id=actor_id, created_at=now, state="draft")
        db.session.add(newsletter)
    newsletter.language, newsletter.audience = language, audience
    newsletter.group_id = group_id if audience == "group" else None
    newsletter.event_id = event_id if audience == "event" else None
    newsletter.required_notice, newsletter.members_only = bool(required_notice), bool(members_only)
    newsletter.post_id = post_id if post_id is not None else newsletter.post_id
    newsletter.updated_at = now
    existing = {text.locale: text for text in newsletter.texts}
    for locale in LOCALES:
        if locale in texts:
            subject, body = texts[locale]
            text = existing.get(locale)
            if text is None:
                newsletter.texts.append(NewsletterText(locale=locale, subject=subject, body=body))
            else:
                text.subject, text.body = subject, body
        elif locale in existing:
            newsletter.texts.remove(existing[locale])
    db.session.flush()
    return newsletter


def from_post(post: Post, actor_id: int | None) -> Newsletter:
    """A draft newsletter with a post's texts (its original and its translations)."""
    texts = {post.language: (post.title, post.body)}
    for translation in post.translations:
        texts[translation.locale] = (translation.title, translation.body)
    return save_newsletter(
        None,
        language=post.language,
        texts=texts,
        audience="newsletter",
        actor_id=actor_id,
        post_id=post.id,
    )


def delete_draft(newsletter: Newsletter) -> None:
    if newsletter.state != "draft":
        raise DomainError(_l("This newsletter has been sent and can no longer be changed."))
    db.session.delete(newsletter)
    db.session.flush()


# --- sending ---------------------------------------------------------------------------------


def send_test(newsletter: Newsletter, user: User, locale: str | None = None) -> None:
    """Send the newsletter to the staff member themself (any state), in a chosen language."""
    locale = recipient_locale(locale or user.locale)
    queue_mail(
        user.email,
        "newsletter",
        locale,
        {**mail_context(newsletter, locale), "is_test": True},
        key=f"newsletter-test:{newsletter.id}:{secrets.token_hex(8)}",
        user_id=user.id,
        bulk=not newsletter.required_notice,
    )


def start_sending(newsletter: Newsletter, actor_id: int) -> None:
    """Mark the draft as sending (once, however many click at once) and queue the first batch."""
    now = utcnow()
    started = db.session.execute(
        update(Newsletter)
        .where(Newsletter.id == newsletter.id, Newsletter.state == "draft")
        .values(state="sending", sent_at=now, sent_by_id=actor_id, updated_at=now)
        .returning(Newsletter.id)
        .execution_options(synchronize_session=False)
    ).first()
    if started is None:
        raise DomainError(_l("This newsletter is already being sent."))
    db.session.refresh(newsletter)
    newsletter.recipient_count = audience_count(newsletter)
    # The log keeps required notices apart from newsletters people chose to receive.
    audit.record(
        "newsletter.notice_sent" if newsletter.required_notice else "newsletter.sent",
        "newsletter",
        newsletter.id,
        after={
            "audience": newsletter.audience,
            "group_id": newsletter.group_id,
            "event_id": newsletter.event_id,
            "required_notice": newsletter.required_notice,
            "recipients": newsletter.recipient_count,
        },
        actor_id=actor_id,
    )
    db.session.flush()
    enqueue_after_commit(
        send_newsletter_batch,
        newsletter.id,
        "users",
        0,
        queue="mail",
        key=f"newsletter:{newsletter.id}:users:0",
    )


def progress(newsletter: Newsletter) -> dict:
    """Counts from the outbox rows of this newsletter: queued, sent, failed (and the total)."""
    return progress_of([newsletter])[newsletter.id]


def progress_of(sent: list[Newsletter]) -> dict[int, dict]:
    """progress() of each newsletter, from one statement over their outbox rows."""
    if not sent:
        return {}
    by_batch = {n.batch_key: n for n in sent}
    counts = {n.id: dict.fromkeys(("queued", "sent", "failed"), 0) for n in sent}
    rows = db.session.execute(
        select(OutboxMessage.batch_key, OutboxMessage.state, func.count())
        .where(OutboxMessage.batch_key.in_(by_batch))
        .group_by(OutboxMessage.batch_key, OutboxMessage.state)
    )
    for batch_key, state, count in rows:
        own = counts[by_batch[batch_key].id]
        if state in ("queued", "sending"):
            own["queued"] += count
        elif state in own:
            own[state] += count
    return {n.id: _progress(n, counts[n.id]) for n in sent}


def _progress(newsletter: Newsletter, counts: dict[str, int]) -> dict:
    total = max(newsletter.recipient_count, sum(counts.values()))
    done = newsletter.state == "sent" and counts["queued"] == 0
    return {
        "state": newsletter.state,
        "total": total,
        **counts,
        "done": done,
        "percent": 100
        if done or not total
        else int(100 * (counts["sent"] + counts["failed"]) / total),
    }
