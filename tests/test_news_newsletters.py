"""Newsletters: audience and consent, the required notice, batch send with counts, headers."""

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.errors import DomainError
from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.timeutil import utcnow
from app.extensions import db
from app.members import groups
from app.members.consents import has_consent, set_consents
from app.news import newsletter_sending, newsletters
from app.news.newsletter_models import Newsletter, NewsletterSubscriber
from tests.factories import make_event, make_registration, make_user
from tests.helpers import body_text, login, post_form, statements_of, subject
from tests.members_helpers import make_member


def _wants(user, given=True):
    set_consents(user, {"newsletter": given}, actor_id=user.id)


def _newsletter(audience="newsletter", required_notice=False, **fields) -> Newsletter:
    return newsletters.save_newsletter(
        None,
        language="en",
        texts={
            "en": ("Autumn news", "Hello **everyone**."),
            "da": ("Efterårsnyt", "Hej **alle**."),
        },
        audience=audience,
        required_notice=required_notice,
        **fields,
    )


def _recipients(newsletter) -> set[str]:
    emails = {
        row.email for row in db.session.execute(newsletter_sending.audience_users(newsletter))
    }
    subscribers = newsletter_sending.audience_subscribers(newsletter)
    if subscribers is not None:
        emails |= {row.email for row in db.session.execute(subscribers)}
    return emails


def test_every_audience_is_intersected_with_the_newsletter_consent(ctx):
    wants = make_member(make_user("member-wants@example.org"))
    refuses = make_member(make_user("member-refuses@example.org"))
    _wants(wants.user)
    _wants(refuses.user, False)
    outsider = make_user("outsider-wants@example.org")
    _wants(outsider)
    resigned = make_member(make_user("resigned-wants@example.org"), status="resigned")
    _wants(resigned.user)
    group = groups.save_group(None, name="Cell", kind="cell")
    groups.join(group, wants, None)
    groups.join(group, refuses, None)
    event = make_event()
    make_registration(event, user=outsider)
    make_registration(event, user=refuses.user)
    subscriber = NewsletterSubscriber(
        email="no-account@example.org", locale="da", confirmed_at=utcnow()
    )
    pending = NewsletterSubscriber(email="pending@example.org", locale="da")
    db.session.add_all([subscriber, pending])
    db.session.flush()

    assert _recipients(_newsletter("newsletter")) == {
        "member-wants@example.org",
        "outsider-wants@example.org",
        "resigned-wants@example.org",
        "no-account@example.org",  # confirmed; the unconfirmed address gets nothing
    }
    assert _recipients(_newsletter("members")) == {"member-wants@example.org"}
    assert _recipients(_newsletter("group", group_id=group.id)) == {"member-wants@example.org"}
    assert _recipients(_newsletter("event", event_id=event.id)) == {"outsider-wants@example.org"}


def test_a_required_notice_reaches_members_without_the_consent_and_is_marked(ctx, client):
    wants = make_member(make_user("a@example.org"))
    refuses = make_member(make_user("b@example.org"))
    make_member(make_user("applicant@example.org"), status="applied")
    _wants(wants.user)
    _wants(refuses.user, False)
    notice = _newsletter("members", required_notice=True)
    assert _recipients(notice) == {"a@example.org", "b@example.org"}
    # Only for members, a group or attendees: not for the newsletter list itself.
    with pytest.raises(DomainError) as refused:
        _newsletter("newsletter", required_notice=True)
    assert refused.value.field == "required_notice"
    make_user("editor@example.org", roles=["editor"])
    db.session.commit()
    login(client, "editor@example.org")
    page = client.get("/staff/newsletters/").get_data(as_text=True)
    assert page.count("data-required-notice") == 1


def test_send_queues_one_message_per_recipient_in_batches_and_counts_them(
    ctx, client, app, mailbox, run_jobs, monkeypatch
):
    monkeypatch.setattr(newsletter_sending, "BATCH", 2)  # several batches with a few people
    editor = make_user("editor@example.org", roles=["editor"])
    people = [make_user(f"reader{n}@example.org", locale="da" if n % 2 else "en") for n in range(5)]
    for person in people:
        _wants(person)
    make_user("no-consent@example.org")
    db.session.add(
        NewsletterSubscriber(email="sub@example.org", locale="en", confirmed_at=utcnow())
    )
    newsletter = _newsletter()
    db.session.commit()
    run_jobs()
    mailbox.clear()

    login(client, "editor@example.org")
    url = f"/staff/newsletters/{newsletter.id}"
    response = post_form(client, f"{url}/send", {}, page_url=url, follow_redirects=True)
    assert response.status_code == 200
    # Sending twice does nothing more.
    post_form(client, f"{url}/send", {}, page_url=url)
    counts = client.get(f"{url}/progress.json").get_json()
    assert counts["total"] == 6 and counts["sent"] == 0

    run_jobs()
    counts = client.get(f"{url}/progress.json").get_json()
    assert counts == {
        "state": "sent",
        "total": 6,
        "queued": 0,
        "sent": 6,
        "failed": 0,
        "done": True,
        "percent": 100,
    }
    assert len(mailbox.messages) == 6
    assert mailbox.to("no-consent@example.org") == []
    [danish] = mailbox.to("reader1@example.org")
    [english] = mailbox.to("reader0@example.org")
    assert subject(danish) == "Efterårsnyt" and "Hej alle." in body_text(danish)
    assert subject(english) == "Autumn news"
    for message in (danish, english, mailbox.to("sub@example.org")[0]):
        assert message["List-Unsubscribe"].strip().startswith("<http")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A rerun of the first batch sends nothing twice.
    newsletter_sending.send_newsletter_batch(newsletter.id, "users", 0)
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.batch_key == f"newsletter:{newsletter.id}")
    ).all()
    assert len(rows) == 6
    db.session.expire_all()
    assert db.session.get(Newsletter, newsletter.id).sent_by_id == editor.id
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "newsletter")
    ).all()
    assert (entry.action, entry.actor_id, entry.after["recipients"]) == (
        "newsletter.sent",
        editor.id,
        6,
    )


def test_a_batch_goes_over_one_smtp_connection_and_failures_are_counted(
    ctx, app, mailbox, run_jobs, monkeypatch
):
    import smtplib

    from flask_mail import Connection

    from app.core.mail import send_outbox_batch
    from app.extensions import mail

    for name in ("ok1", "fails", "ok2"):
        _wants(make_user(f"{name}@example.org"))
    newsletter = _newsletter()
    db.session.commit()
    newsletters.start_sending(newsletter, None)
    commit()
    connections, real_connect, real_send = [], mail.connect, Connection.send

    def counting_connect():
        connections.append(1)
        return real_connect()

    def refuse_one(self, message, envelope_from=None):
        if "fails@example.org" in message.recipients:
            raise smtplib.SMTPRecipientsRefused({"fails@example.org": (550, b"No such user")})
        return real_send(self, message, envelope_from)

    monkeypatch.setattr(mail, "connect", counting_connect)
    monkeypatch.setattr(Connection, "send", refuse_one)
    run_jobs(raise_failures=False)
    db.session.expire_all()
    counts = newsletters.progress(db.session.get(Newsletter, newsletter.id))
    assert (counts["sent"], counts["failed"], counts["total"]) == (2, 1, 3)
    assert len(mailbox.messages) == 2
    # One connection for the batch, and one more after the failure (it may have broken it).
    assert len(connections) == 2

    # The job's retry sends only the failed one; sent ones never go twice.
    monkeypatch.setattr(Connection, "send", real_send)
    ids = db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.batch_key == newsletter.batch_key)
    ).all()
    assert send_outbox_batch(list(ids)) == "sent 1"
    assert len(mailbox.messages) == 3
    assert len(mailbox.to("ok1@example.org")) == 1


def test_the_newsletters_one_click_unsubscribe_stops_it_without_login(
    ctx, client, mailbox, run_jobs
):
    person = make_user("leaving@example.org")
    _wants(person)
    newsletter = _newsletter()
    db.session.commit()
    newsletters.start_sending(newsletter, person.id)
    commit()
    run_jobs()
    [message] = mailbox.to("leaving@example.org")
    link = message["List-Unsubscribe"].strip()[1:-1]
    assert link in body_text(message)  # the same link in the text
    response = client.post("/" + link.split("/", 3)[3], data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert not has_consent(person, "newsletter")
    assert _recipients(_newsletter()) == set()


def test_a_required_notice_carries_no_newsletter_unsubscribe(ctx, mailbox, run_jobs):
    member = make_member(make_user("member@example.org"))
    notice = _newsletter("members", required_notice=True)
    db.session.commit()
    newsletters.start_sending(notice, member.user_id)
    commit()
    run_jobs()
    [message] = [m for m in mailbox.to("member@example.org") if subject(m) == "Autumn news"]
    assert message["List-Unsubscribe"] is None
    logged = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "newsletter", AuditEntry.object_id == notice.id
        )
    )
    assert list(logged) == ["newsletter.notice_sent"]  # kept apart from newsletters in the log


def test_preview_per_language_and_a_test_to_myself(ctx, client, mailbox, run_jobs):
    make_user("editor@example.org", roles=["editor"], locale="en")
    newsletter = _newsletter()
    db.session.commit()
    login(client, "editor@example.org")
    url = f"/staff/newsletters/{newsletter.id}"
    preview = client.get(f"{url}/preview/da")
    # The e-mail's inline styles apply in the preview; scripts never run there.
    assert "style-src 'unsafe-inline'" in preview.headers["Content-Security-Policy"]
    assert "script-src" not in preview.headers["Content-Security-Policy"]
    danish = preview.get_data(as_text=True)
    assert "Efterårsnyt" in danish and "<strong>alle</strong>" in danish
    icelandic = client.get(f"{url}/preview/is?format=text").get_data(as_text=True)
    assert "Hello everyone." in icelandic  # no Icelandic text: the original
    post_form(client, f"{url}/test", {"locale": "da"}, page_url=url)
    run_jobs()
    [test] = mailbox.to("editor@example.org")
    assert "Efterårsnyt" in subject(test)
    db.session.expire_all()
    assert db.session.get(Newsletter, newsletter.id).state == "draft"  # a test is not the send


def test_staff_write_a_newsletter_from_the_form_and_from_a_post(ctx, app, client):
    make_user("editor@example.org", roles=["editor"])
    db.session.commit()
    login(client, "editor@example.org")
    response = post_form(
        client,
        "/staff/newsletters/new",
        {
            "language": "en",
            "audience": "newsletter",
            "group_id": "",
            "event_id": "",
            "subject_en": "Spring letter",
            "body_en": "Text",
        },
    )
    assert response.status_code == 302
    newsletter = db.session.scalar(select(Newsletter))
    assert newsletter.text_for("da").subject == "Spring letter"
    from app.news.models import Post

    post = Post(slug="big-news", language="en", title="Big news", summary="", body="**Big**")
    post.state = "draft"
    db.session.add(post)
    db.session.commit()
    response = post_form(
        client, "/staff/newsletters/from-post", {"post_id": post.id}, page_url="/staff/newsletters/"
    )
    assert response.status_code == 302
    from_post = db.session.scalar(select(Newsletter).where(Newsletter.post_id == post.id))
    assert from_post.text_for("en").subject == "Big news"
    assert from_post.text_for("en").body == "**Big**"
    make_user("reader@example.org")
    db.session.commit()
    reader = app.test_client()
    login(reader, "reader@example.org")
    assert reader.get("/staff/newsletters/").status_code == 403


def test_the_archive_shows_sent_newsletters_and_members_only_ones_to_members(ctx, app, client):
    public = _newsletter()
    private = newsletters.save_newsletter(
        None,
        language="en",
        texts={"en": ("Members letter", "Secret plans")},
        audience="members",
        members_only=True,
    )
    draft = newsletters.save_newsletter(
        None, language="en", texts={"en": ("Unsent draft", "x")}, audience="newsletter"
    )
    public.state = private.state = "sent"
    public.sent_at = private.sent_at = utcnow()
    make_member(make_user("member@example.org"))
    db.session.commit()

    visitor = client.get("/newsletters/").get_data(as_text=True)
    assert "Autumn news" in visitor
    assert "Members letter" not in visitor and "Unsent draft" not in visitor
    assert client.get(f"/newsletters/{private.id}").status_code == 404
    assert client.get(f"/newsletters/{draft.id}").status_code == 404
    page = client.get(f"/newsletters/{public.id}").get_data(as_text=True)
    assert "<strong>everyone</strong>" in page

    member = app.test_client()
    login(member, "member@example.org")
    assert "Members letter" in member.get("/newsletters/").get_data(as_text=True)
    assert "Secret plans" in member.get(f"/newsletters/{private.id}").get_data(as_text=True)


def test_the_staff_list_reads_the_same_statements_for_two_newsletters_or_twelve(ctx, app, client):
    editor = make_user("editor@example.org", roles=["editor"])
    db.session.commit()
    login(client, "editor@example.org")
    counts = []
    for more in (2, 10):
        for n in range(more):
            newsletter = _newsletter()
            if n % 2:
                newsletters.start_sending(newsletter, editor.id)
        db.session.commit()
        counts.append(statements_of(app, client, "/staff/newsletters/"))
    assert counts[0] == counts[1], counts
