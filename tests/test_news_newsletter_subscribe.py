"""Newsletter subscription without an account: double opt-in, unsubscribe, the weekly sweep."""

from datetime import timedelta

from sqlalchemy import select

from app.core.jobs import kind_of
from app.core.periodic import PERIODIC
from app.core.timeutil import utcnow
from app.extensions import db
from app.members.consents import consent_history, has_consent
from app.news import newsletter_sending, newsletters
from app.news.newsletter_models import NewsletterSubscriber
from app.news.newsletter_tasks import sweep_unconfirmed_subscribers
from tests.factories import make_user
from tests.helpers import first_link, post_form


def _subscriber(email: str) -> NewsletterSubscriber | None:
    db.session.expire_all()
    query = select(NewsletterSubscriber).where(NewsletterSubscriber.email == email)
    return db.session.scalar(query)


def test_double_opt_in_confirms_only_through_the_emailed_link(ctx, client, mailbox, run_jobs):
    response = post_form(client, "/newsletter/subscribe", {"email": "reader@example.org"})
    assert response.status_code == 200
    assert 'id="subscribe-sent"' in response.get_data(as_text=True)
    assert _subscriber("reader@example.org").confirmed_at is None
    run_jobs()
    [mail] = mailbox.to("reader@example.org")
    link = first_link(mail)
    assert "/newsletter/confirm/" in link

    # A forged or altered link confirms nothing.
    assert client.get("/" + link.split("/", 3)[3][:-3] + "xyz").status_code == 404
    assert _subscriber("reader@example.org").confirmed_at is None

    page = client.get("/" + link.split("/", 3)[3])
    assert page.status_code == 200
    assert 'id="subscribe-confirmed"' in page.get_data(as_text=True)
    subscriber = _subscriber("reader@example.org")
    assert subscriber.confirmed_at is not None
    assert subscriber.source == "subscribe_form"
    assert subscriber.consent_text  # the wording they agreed to is kept with the consent


def test_subscribing_again_when_confirmed_sends_nothing(ctx, client, mailbox, run_jobs):
    newsletters.subscribe("twice@example.org", "en")
    db.session.commit()
    _subscriber("twice@example.org").confirmed_at = utcnow()
    db.session.commit()
    run_jobs()
    mailbox.clear()
    response = post_form(client, "/newsletter/subscribe", {"email": "twice@example.org"})
    assert 'id="subscribe-sent"' in response.get_data(as_text=True)  # the same answer for all
    run_jobs()
    assert mailbox.to("twice@example.org") == []


def test_an_invalid_address_is_refused_on_the_form(ctx, client):
    response = post_form(client, "/newsletter/subscribe", {"email": "not-an-address"})
    assert 'id="subscribe-sent"' not in response.get_data(as_text=True)
    assert db.session.scalar(select(NewsletterSubscriber)) is None


def test_confirming_an_address_with_an_account_gives_the_accounts_consent(ctx, client, run_jobs):
    user = make_user("member@example.org")
    db.session.commit()
    assert not has_consent(user, "newsletter")
    newsletters.subscribe("member@example.org", "en")
    db.session.commit()
    token = newsletters._token(newsletters._confirm_signer(), _subscriber("member@example.org"))
    assert client.get(f"/newsletter/confirm/{token}").status_code == 200
    db.session.expire_all()
    assert has_consent(user, "newsletter")
    assert consent_history(user)[0].source == "subscribe"
    assert _subscriber("member@example.org") is None  # one person, one consent


def test_one_click_unsubscribe_post_stops_the_newsletter_without_login(ctx, client):
    newsletters.subscribe("leave@example.org", "en")
    subscriber = _subscriber("leave@example.org")
    subscriber.confirmed_at = utcnow()
    db.session.commit()
    url = newsletter_sending.subscriber_unsubscribe_url(subscriber.id, subscriber.email)
    path = "/" + url.split("/", 3)[3]
    # The RFC 8058 POST a mail program sends: no cookie, no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert _subscriber("leave@example.org").unsubscribed_at is not None
    # Any other POST without a CSRF token is refused.
    assert client.post(path, data={}).status_code == 400
    assert client.post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_unconfirmed_addresses_are_deleted_after_a_week(ctx):
    newsletters.subscribe("old@example.org", "en")
    newsletters.subscribe("new@example.org", "en")
    newsletters.subscribe("kept@example.org", "en")
    _subscriber("old@example.org").requested_at = utcnow() - timedelta(days=8)
    db.session.flush()
    kept = _subscriber("kept@example.org")
    kept.requested_at, kept.confirmed_at = utcnow() - timedelta(days=30), utcnow()
    db.session.commit()
    assert kind_of(sweep_unconfirmed_subscribers) in PERIODIC
    assert sweep_unconfirmed_subscribers() == 1
    assert _subscriber("old@example.org") is None
    assert _subscriber("new@example.org") is not None
    assert _subscriber("kept@example.org") is not None
