"""Members and the association writing to each other: a member's message in the staff inbox, a
staff reply by e-mail (through aiosmtpd, in the member's language) and in the member's messages,
internal notes the member never sees, the unread counts in both navigations, staff writing from a
member's record, and who may read what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.mail import OutboxMessage
from app.extensions import db
from app.inbox import services
from app.inbox.models import Conversation
from app.members import privacy
from tests.factories import make_user
from tests.helpers import body_text, csrf_from, login, post_form, statements_of
from tests.inbox_helpers import send_contact
from tests.members_helpers import make_member


def _client(app, email):
    other = app.test_client()
    login(other, email)
    return other


def _unread(html: str, element_id: str) -> int:
    """The unread badge of a navigation link (0 when there is none)."""
    link = html.split(f'id="{element_id}"', 1)[1].split("</a>", 1)[0]
    match = re.search(r'data-unread="(\d+)"', link)
    return int(match.group(1)) if match else 0


def test_a_member_writes_staff_reply_by_email_and_the_member_reads_it(
    app, client, ctx, mailbox, run_jobs
):
    member = make_user("freyja@example.is", "Freyja", locale="is")
    make_user("staff@example.org", "Staff Sigga", roles=["membership"])
    db.session.commit()
    login(client, member.email)
    sent = post_form(
        client, "/account/messages", {"subject": "New address", "message": "I moved to Akureyri."}
    )
    assert sent.status_code == 302
    [conversation] = db.session.scalars(select(Conversation)).all()
    assert (conversation.origin, conversation.state, conversation.user_id) == (
        "member",
        "new",
        member.id,
    )

    staff = _client(app, "staff@example.org")
    inbox = staff.get("/staff/inbox/").get_data(as_text=True)
    assert "New address" in inbox and _unread(inbox, "nav-inbox") == 1
    url = f"/staff/inbox/{conversation.id}"
    page = staff.get(url).get_data(as_text=True)
    assert "I moved to Akureyri." in page
    assert _unread(page, "nav-inbox") == 0  # opened: read by staff
    db.session.refresh(conversation)
    assert conversation.state == "open"

    post_form(staff, f"{url}/note", {"note-note": "Check the union list too"}, url)
    post_form(staff, f"{url}/reply", {"reply-message": "Thank you, the record is updated."}, url)
    db.session.refresh(conversation)
    assert conversation.state == "waiting"
    run_jobs()
    [mail] = mailbox.to("freyja@example.is")
    text = body_text(mail)
    assert "Thank you, the record is updated." in text
    assert f"/account/messages/{conversation.id}" in text
    assert "Check the union list" not in text
    reply_mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "inbox_reply")
    )
    assert reply_mail.locale == "is"  # the member's language, not the staff member's

    home = client.get("/account").get_data(as_text=True)
    assert _unread(home, "nav-messages") == 1
    thread = client.get(f"/account/messages/{conversation.id}").get_data(as_text=True)
    assert "Thank you, the record is updated." in thread
    assert "Check the union list" not in thread  # internal notes stay internal
    assert _unread(client.get("/account").get_data(as_text=True), "nav-messages") == 0


def test_a_member_reply_opens_the_conversation_again_for_staff(app, client, ctx):
    member = make_user("bo@example.dk")
    staff_user = make_user("staff@example.org", roles=["membership"])
    conversation = services.start_from_member(member, "Kontingent", "Hvornår betaler jeg?")
    services.reply_from_staff(conversation, staff_user, "I januar.")
    services.set_state(conversation, "closed", staff_user)
    services.opened_by_staff(conversation)
    db.session.commit()
    login(client, member.email)
    url = f"/account/messages/{conversation.id}"
    post_form(client, url, {"message": "Tak! Og hvor meget?"})
    db.session.refresh(conversation)
    assert conversation.state == "open" and conversation.unread_by_staff
    staff = _client(app, "staff@example.org")
    assert _unread(staff.get("/staff/").get_data(as_text=True), "nav-inbox") == 1


def test_a_member_cannot_read_or_answer_another_persons_conversation(app, client, ctx):
    owner = make_user("owner@example.org")
    make_user("nosy@example.org")
    conversation = services.start_from_member(owner, "Private matter", "Only for staff.")
    db.session.commit()
    login(client, "nosy@example.org")
    url = f"/account/messages/{conversation.id}"
    assert client.get(url).status_code == 404
    token = csrf_from(client.get("/account/messages").get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "message": "Hi"}).status_code == 404
    assert "Private matter" not in client.get("/account/messages").get_data(as_text=True)
    db.session.refresh(conversation)
    assert len(conversation.messages) == 1
    anonymous = app.test_client()
    assert "/auth/login" in anonymous.get(url).location
    assert "/auth/login" in anonymous.get("/account/messages").location


def _staff_routes(app, conversation_id: int, user_id: int) -> list[tuple[str, str]]:
    values = {"conversation_id": conversation_id, "user_id": user_id}
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff/inbox"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_only_membership_staff_and_admins_reach_the_staff_inbox(app, ctx):
    member = make_user("member@example.org")
    make_user("organiser@example.org", roles=["organiser"])
    make_user("editor@example.org", roles=["editor"])
    make_user("staff@example.org", roles=["membership"])
    make_user("admin@example.org", roles=["admin"])
    conversation = services.start_from_member(member, "Hello", "Hi there")
    db.session.commit()
    routes = _staff_routes(app, conversation.id, member.id)
    assert len(routes) >= 8
    anonymous = app.test_client()
    for method, path in routes:
        response = anonymous.open(path, method=method)
        assert response.status_code in (302, 400) and (
            response.status_code == 400 or "/auth/login" in response.location
        ), (method, path)
    for email in ("member@example.org", "organiser@example.org", "editor@example.org"):
        other = _client(app, email)
        token = {"csrf_token": csrf_from(other.get("/account/messages").get_data(as_text=True))}
        for method, path in routes:
            response = other.open(path, method=method, data=token if method == "POST" else None)
            assert response.status_code == 403, (email, method, path)
    db.session.refresh(conversation)
    assert len(conversation.messages) == 1 and conversation.state == "new"
    for email in ("staff@example.org", "admin@example.org"):
        allowed = _client(app, email)
        for method, path in routes:
            if method == "GET":
                assert allowed.get(path).status_code == 200, (email, path)


def test_staff_write_to_a_member_from_the_record(app, ctx, mailbox, run_jobs):
    staff_user = make_user("staff@example.org", "Staff Sigga", roles=["membership"])
    membership = make_member(make_user("anna@example.dk", "Anna", locale="da"), staff=staff_user)
    db.session.commit()
    staff = _client(app, "staff@example.org")
    record = staff.get(f"/staff/members/{membership.id}").get_data(as_text=True)
    write_url = f"/staff/inbox/write/{membership.user_id}"
    assert 'id="write-to-member"' in record and write_url in record
    response = post_form(
        staff, write_url, {"subject": "Generalforsamling", "message": "Vil du være dirigent?"}
    )
    [conversation] = db.session.scalars(select(Conversation)).all()
    assert response.location.endswith(f"/staff/inbox/{conversation.id}")
    assert (conversation.origin, conversation.state, conversation.assignee_id) == (
        "staff",
        "waiting",
        staff_user.id,
    )
    run_jobs()
    [mail] = mailbox.to("anna@example.dk")
    assert "Vil du være dirigent?" in body_text(mail)
    member = _client(app, "anna@example.dk")
    messages = member.get("/account/messages").get_data(as_text=True)
    assert "Generalforsamling" in messages and _unread(messages, "nav-messages") == 1


def test_state_and_assignee_changes_are_audited(app, ctx):
    member = make_user("member@example.org")
    chief = make_user("chief@example.org", "Chief", roles=["admin"])
    helper = make_user("helper@example.org", "Helper", roles=["membership"])
    conversation = services.start_from_member(member, "Question", "Hello")
    db.session.commit()
    staff = _client(app, "chief@example.org")
    url = f"/staff/inbox/{conversation.id}"
    post_form(staff, f"{url}/assign", {"assignee": str(helper.id)}, url)
    post_form(staff, f"{url}/state", {"state": "closed"}, url)
    # Only staff of the inbox can be assigned.
    refused = post_form(staff, f"{url}/assign", {"assignee": str(member.id)}, url)
    assert refused.status_code == 302
    db.session.refresh(conversation)
    assert (conversation.assignee_id, conversation.state) == (helper.id, "closed")
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "conversation", AuditEntry.object_id == conversation.id)
        .order_by(AuditEntry.id)
    ).all()
    changes = [(e.action, e.before, e.after, e.actor_id) for e in entries]
    assert changes == [
        ("inbox.assigned", {"assignee_id": None}, {"assignee_id": helper.id}, chief.id),
        ("inbox.state", {"state": "open"}, {"state": "closed"}, chief.id),
    ]


def test_staff_list_filters_by_state_assignee_and_search_taken_literally(app, ctx):
    staff_user = make_user("staff@example.org", roles=["membership"])
    a = services.start_from_member(make_user(name="Ann"), "100% sure about dues", "x")
    b = services.start_from_member(make_user(name="Ben"), "1000 members", "y")
    c = services.start_from_member(make_user(name="Cai"), "Closed one", "z")
    services.assign(b, staff_user.id, staff_user)
    services.set_state(c, "closed", staff_user)
    db.session.commit()
    staff = _client(app, "staff@example.org")

    def listed(query: str) -> set[str]:
        html = staff.get(f"/staff/inbox/?{query}").get_data(as_text=True)
        return {s for s in (a.subject, b.subject, c.subject) if s in html}

    assert listed("") == {a.subject, b.subject}  # closed ones are not in the default list
    assert listed("state=closed") == {c.subject}
    assert listed("state=all") == {a.subject, b.subject, c.subject}
    assert listed("assignee=me") == {b.subject}
    assert listed("assignee=none") == {a.subject}
    assert listed("q=100%25") == {a.subject}  # a literal %, not a wildcard
    assert listed("q=Ben") == {b.subject}


def test_conversations_are_in_the_data_export_and_erased_with_the_person(
    app, client, ctx, monkeypatch
):
    staff_user = make_user("staff@example.org", roles=["membership"])
    user = make_user("leaving@example.org", "Leaving Person")
    membership = make_member(user, staff=staff_user)
    # Sent from the contact form before the person had an account, from the same address.
    send_contact(app.test_client(), monkeypatch, email="Leaving@example.org", subject="Before")
    conversation = services.start_from_member(user, "Resigning", "Please delete me.")
    services.add_note(conversation, staff_user, "Asked twice")
    other = services.start_from_member(make_user("stays@example.org"), "Stays", "Keep me")
    db.session.commit()
    login(client, user.email)
    data = client.get("/account/data.json").get_json()
    assert {c["subject"] for c in data["conversations"]} == {"Before", "Resigning"}

    privacy.anonymise(membership, staff_user.id)
    db.session.commit()
    subjects = set(db.session.scalars(select(Conversation.subject)))
    assert subjects == {other.subject}


def test_a_staff_reply_to_a_visitor_goes_by_email_in_the_language_they_wrote_in(
    app, client, ctx, mailbox, run_jobs, monkeypatch
):
    make_user("staff@example.org", roles=["membership"], locale="en")
    client.set_cookie("lang", "da")
    send_contact(client, monkeypatch, email="jens@example.dk", subject="Lokaleleje")
    db.session.commit()
    [conversation] = db.session.scalars(select(Conversation)).all()
    staff = _client(app, "staff@example.org")
    url = f"/staff/inbox/{conversation.id}"
    post_form(staff, f"{url}/reply", {"reply-message": "Ja, det kan man."}, url)
    run_jobs()
    reply = [m for m in mailbox.to("jens@example.dk") if "Ja, det kan man." in body_text(m)]
    assert len(reply) == 1
    assert "/account/messages" not in body_text(reply[0])  # a visitor has no messages page
    locales = db.session.scalars(select(OutboxMessage.locale)).all()
    assert locales == ["da", "da"]  # the confirmation and the reply


def test_members_writing_messages_are_rate_limited(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", "2 per hour")
    make_user("busy@example.org")
    db.session.commit()
    login(client, "busy@example.org")
    for n in range(2):
        sent = post_form(client, "/account/messages", {"subject": f"S{n}", "message": "Hi"})
        assert sent.status_code == 302
    refused = post_form(client, "/account/messages", {"subject": "S3", "message": "Hi"})
    assert refused.status_code == 429
    assert len(db.session.scalars(select(Conversation)).all()) == 2


def test_the_demo_seed_fills_the_inbox(app, ctx):
    from app.demo import seed

    seed(member_count=4)
    states = sorted(db.session.scalars(select(Conversation.state)))
    assert states == ["new", "spam", "waiting"]
    answered = db.session.scalar(select(Conversation).where(Conversation.state == "waiting"))
    assert [m.kind for m in answered.messages] == ["message", "note", "message"]


@pytest.mark.parametrize("assignee", ["\t", " ", "abc", "-1"])
def test_an_assignee_that_is_no_choice_is_refused_and_changes_nothing(app, ctx, assignee):
    member = make_user("member@example.org")
    make_user("chief@example.org", "Chief", roles=["admin"])
    conversation = services.start_from_member(member, "Question", "Hello")
    db.session.commit()
    staff = _client(app, "chief@example.org")
    url = f"/staff/inbox/{conversation.id}"
    response = post_form(staff, f"{url}/assign", {"assignee": assignee}, url)
    assert response.status_code == 302
    page = staff.get(url).get_data(as_text=True)
    assert "Choose a member of staff." in page
    db.session.refresh(conversation)
    assert conversation.assignee_id is None


def test_a_conversation_reads_the_same_statements_with_two_staff_writers_or_eight(app, ctx):
    member = make_user("member@example.org")
    make_user("chief@example.org", "Chief", roles=["admin"])
    conversation = services.start_from_member(member, "Question", "Hello")
    counts = []
    for writers in (2, 8):
        for n in range(writers):
            writer = make_user(
                f"writer{writers}-{n}@example.org", f"Writer {n}", roles=["membership"]
            )
            services.reply_from_staff(conversation, writer, f"Answer {n}")
            services.add_note(conversation, writer, f"Note {n}")
        db.session.commit()
        pages = (
            ("chief@example.org", f"/staff/inbox/{conversation.id}"),
            ("member@example.org", f"/account/messages/{conversation.id}"),
        )
        counts.append([statements_of(app, _client(app, email), url) for email, url in pages])
    assert counts[0] == counts[1], counts
