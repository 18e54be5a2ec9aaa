"""Sending a newsletter: who it goes to, each e-mail's content and link, and the batch job.

The batch job loads its rows by id, is safe to run twice and commits itself. E-mails go through
the outbox (core/mail), whose unique key per newsletter and recipient sends each one once.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from app.auth.models import User
from app.core.http import absolute_url
from app.core.jobs import commit, enqueue_after_commit
from app.core.mail import OutboxMessage, queue_mail, send_outbox_batch
from app.core.markdown import markdown_to_text, render_markdown
from app.events.models import Registration
from app.extensions import db
from app.members.models import Consent, GroupMember, Membership
from app.news.newsletter_models import Newsletter, NewsletterSubscriber

# --- unsubscribe links for addresses without an account ----------------------------------------


def unsubscribe_signer() -> URLSafeSerializer:
    """The signer of the unsubscribe links of addresses without an account."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="newsletter-subscriber-off")


def _unsubscribe_token(subscriber_id: int, email: str) -> str:
    return unsubscribe_signer().dumps([subscriber_id, email])


def subscriber_unsubscribe_url(subscriber_id: int, email: str) -> str:
    """The signed link that stops the newsletter for an address without an account."""
    return absolute_url(
        "newsletter_public.unsubscribe", token=_unsubscribe_token(subscriber_id, email)
    )


# --- audience ----------------------------------------------------------------------------------


def _wants_newsletter():
    return select(Consent.user_id).where(Consent.kind == "newsletter", Consent.given.is_(True))


def audience_users(newsletter: Newsletter):
    """SELECT of (id, email, locale) of the accounts this newsletter goes to.

    Always intersected with the newsletter consent, except a required notice to members (a
    general meeting), which goes to the audience whatever their newsletter choice.
    """
    query = select(User.id, User.email, User.locale).where(User.is_active_account.is_(True))
    if newsletter.audience == "members":
        query = query.where(
            User.id.in_(select(Membership.user_id).where(Membership.status == "active"))
        )
    elif newsletter.audience == "group":
        query = query.where(
            User.id.in_(
                select(Membership.user_id)
                .join(GroupMember, GroupMember.membership_id == Membership.id)
                .where(GroupMember.group_id == newsletter.group_id)
            )
        )
    elif newsletter.audience == "event":
        query = query.where(
            User.id.in_(
                select(Registration.user_id).where(
                    Registration.event_id == newsletter.event_id,
                    Registration.state == "confirmed",
                    Registration.user_id.is_not(None),
                )
            )
        )
    if not newsletter.required_notice:
        query = query.where(User.id.in_(_wants_newsletter()), User.email_verified_at.is_not(None))
    return query


def audience_subscribers(newsletter: Newsletter):
    """SELECT of (id, email, locale) of confirmed addresses without an account (newsletter only)."""
    if newsletter.audience != "newsletter" or newsletter.required_notice:
        return None
    has_account = select(User.id).where(
        func.lower(User.email) == func.lower(NewsletterSubscriber.email)
    )
    return select(
        NewsletterSubscriber.id, NewsletterSubscriber.email, NewsletterSubscriber.locale
    ).where(
        NewsletterSubscriber.confirmed_at.is_not(None),
        NewsletterSubscriber.unsubscribed_at.is_(None),
        ~has_account.exists(),
    )


def audience_count(newsletter: Newsletter) -> int:
    """How many people the newsletter would go to now."""
    count = db.session.scalar(
        select(func.count()).select_from(audience_users(newsletter).subquery())
    )
    subscribers = audience_subscribers(newsletter)
    if subscribers is not None:
        count += db.session.scalar(select(func.count()).select_from(subscribers.subquery()))
    return count or 0


# --- sending -----------------------------------------------------------------------------------


def recipient_locale(locale: str | None) -> str:
    languages = current_app.config["LANGUAGES"]
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def mail_context(newsletter: Newsletter, locale: str) -> dict:
    """The newsletter's content for an e-mail in a language (its version, else the original)."""
    text = newsletter.text_for(locale)
    return {
        "subject_text": text.subject,
        "body_html": str(render_markdown(text.body)),
        "body_text": markdown_to_text(text.body),
        "archive_url": absolute_url("newsletter_public.show", newsletter_id=newsletter.id),
        "required_notice": newsletter.required_notice,
    }


# --- the batch job -----------------------------------------------------------------------------


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
        query = audience_users(newsletter).where(User.id > after_id).order_by(User.id)
    else:
        query = audience_subscribers(newsletter)
        if query is None:
            return _finish(newsletter)
        query = query.where(NewsletterSubscriber.id > after_id).order_by(NewsletterSubscriber.id)
    rows = db.session.execute(query.limit(BATCH)).all()
    contexts: dict[str, dict] = {}
    message_ids = []
    for recipient_id, email, locale in rows:
        locale = recipient_locale(locale)
        if locale not in contexts:
            contexts[locale] = mail_context(newsletter, locale)
        context, headers = dict(contexts[locale]), {}
        if phase == "subscribers":
            link = subscriber_unsubscribe_url(recipient_id, email)
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
