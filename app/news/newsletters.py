"""Newsletters: subscribers without an account (double opt-in), writing, audience and sending."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from app.auth.models import User
from app.core.errors import DomainError, NotFound
from app.core.http import absolute_url
from app.core.mail import queue_mail
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.extensions import db
from app.members.consents import CONSENT_TEXTS, set_consents
from app.news.newsletter_models import NewsletterSubscriber

CONFIRM_DAYS = 7  # an unconfirmed address is deleted after this (and its link stops working)


# --- subscribers without an account ------------------------------------------------------------


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="newsletter-confirm")


def _unsubscribe_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="newsletter-subscriber-off")


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


def subscriber_unsubscribe_url(subscriber: NewsletterSubscriber) -> str:
    """The signed link that stops the newsletter for an address without an account."""
    return absolute_url(
        "newsletter_public.unsubscribe", token=_token(_unsubscribe_signer(), subscriber)
    )


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
    return _subscriber_from(_unsubscribe_signer(), token)


def unsubscribe_subscriber(token: str) -> NewsletterSubscriber:
    """Stop the newsletter for an address without an account (link or one-click POST)."""
    subscriber = _subscriber_from(_unsubscribe_signer(), token)
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
