"""Applying, approval and rejection with e-mails, resigning and ending, consents, unsubscribe."""

from datetime import date

import pytest

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.errors import Forbidden
from app.core.mail import unsubscribe_url
from app.core.timeutil import local_today
from app.extensions import db
from app.members import consents, lifecycle, records
from app.members.models import ConsentEvent, Membership
from tests.factories import make_user
from tests.helpers import body_text, login, post_form
from tests.members_helpers import kennitala, make_member, record


def _membership(email):
    return db.session.scalar(
        db.select(Membership).join(Membership.user).where(db.text("users.email = :e")),
        {"e": email},
    )


def test_apply_then_staff_approve_sends_a_welcome_in_the_applicants_language(
    app, client, ctx, mailbox, run_jobs
):
    make_user("anna@example.is", "Anna Jónsdóttir", locale="is")
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    login(client, "anna@example.is")
    number = kennitala(date(1990, 1, 12))
    response = post_form(
        client,
        "/members/apply",
        record(
            full_name="Anna Jónsdóttir",
            national_id=number,
            reachable="y",
            newsletter="y",
            unions="Efling: 4455\nVR",
        ),
    )
    assert response.status_code == 302 and response.location.endswith("/members/me")
    membership = _membership("anna@example.is")
    assert membership.status == "applied"
    assert membership.birthday == date(1990, 1, 12)
    assert [(u.union, u.member_number) for u in membership.unions] == [
        ("Efling", "4455"),
        ("VR", ""),
    ]
    assert consents.consents_of(membership.user) == {
        "reachable": True,
        "groupable": False,
        "newsletter": True,
    }
    page = client.get("/members/me").get_data(as_text=True)
    assert 'data-status="applied"' in page and f"{number[:6]}-****" in page
    run_jobs()
    assert len(mailbox.to("anna@example.is")) == 1  # application received
    mailbox.clear()

    client.post("/auth/logout", data={})
    staff = app.test_client()
    login(staff, "staff@example.org")
    queue = staff.get("/staff/members/applications").get_data(as_text=True)
    assert "Anna Jónsdóttir" in queue
    response = post_form(
        staff,
        f"/staff/members/{membership.id}/approve",
        {"next_page": "queue"},
        page_url="/staff/members/applications",
    )
    assert response.status_code == 302
    db.session.refresh(membership)
    assert membership.status == "active" and membership.joined_on == local_today()
    assert membership.decided_by.email == "staff@example.org"
    run_jobs()
    [welcome] = mailbox.to("anna@example.is")
    text = body_text(welcome)
    assert "/members/me" in text
    # Sent in Icelandic: the subject carries the Icelandic wording when the catalog has it,
    # and the message was rendered with the recipient's locale.
    from app.core.mail import OutboxMessage

    outbox = db.session.scalar(
        db.select(OutboxMessage).where(OutboxMessage.template == "membership_welcome")
    )
    assert outbox.locale == "is" and outbox.state == "sent"
    history = [(e.action, e.to_status) for e in membership.history]
    assert history == [("applied", "applied"), ("approved", "active")]


def test_reject_needs_a_reason_and_tells_the_applicant(app, client, ctx, mailbox, run_jobs):
    staff = make_user("staff@example.org", roles=["membership"])
    membership = make_member(status="applied")
    db.session.commit()
    login(client, "staff@example.org")
    url = f"/staff/members/{membership.id}"
    empty = post_form(client, f"{url}/reject", {"reason": ""}, page_url=url)
    assert empty.status_code == 422
    db.session.refresh(membership)
    assert membership.status == "applied"
    post_form(client, f"{url}/reject", {"reason": "Lives abroad"}, page_url=url)
    db.session.refresh(membership)
    assert membership.status == "rejected" and membership.decision_reason == "Lives abroad"
    assert membership.decided_by_id == staff.id
    mailbox.clear()
    run_jobs()
    mails = mailbox.to(membership.user.email)
    assert any("Lives abroad" in body_text(m) for m in mails)


def test_automatic_approval_setting(app, ctx, monkeypatch, mailbox, run_jobs):
    monkeypatch.setitem(app.config, "MEMBERSHIP_AUTO_APPROVE", True)
    user = make_user()
    membership = lifecycle.apply(user, record(full_name="Auto Member"), {})
    assert membership.status == "active" and membership.joined_on == local_today()
    assert membership.history[-1].reason == "automatic"


def test_unverified_users_cannot_apply(client, ctx):
    make_user("new@example.org", verified=False)
    db.session.commit()
    # an unverified account cannot log in, so the service itself refuses
    user = db.session.scalar(db.select(User).filter_by(email="new@example.org"))
    with pytest.raises(Forbidden):
        lifecycle.apply(user, record(), {})
    assert records.membership_of(user) is None


def test_applying_twice_is_refused_and_a_rejected_person_may_apply_again(ctx):
    membership = make_member(status="applied")
    with pytest.raises(lifecycle.AlreadyMember):
        lifecycle.apply(membership.user, record(), {})
    lifecycle.approve(membership, None)
    with pytest.raises(lifecycle.AlreadyMember):
        lifecycle.apply(membership.user, record(), {})
    membership.status = "applied"
    lifecycle.reject(membership, None, "Incomplete")
    again = lifecycle.apply(membership.user, record(full_name="Second Try"), {})
    assert again.id == membership.id and again.status == "applied"
    assert [e.action for e in again.history] == ["applied", "approved", "rejected", "applied"]


def test_member_resigns_and_staff_end_a_membership_with_history(
    app, client, ctx, mailbox, run_jobs
):
    member = make_member()
    other = make_member()
    make_user("staff@example.org", roles=["membership"])
    member.user.email = "leaver@example.org"
    db.session.commit()
    login(client, "leaver@example.org")
    refused = post_form(client, "/members/me/resign", {}, page_url="/members/me")
    assert refused.status_code == 302
    db.session.refresh(member)
    assert member.status == "active"  # the box was not ticked
    post_form(client, "/members/me/resign", {"confirm": "y", "reason": "Moving"}, "/members/me")
    db.session.refresh(member)
    assert member.status == "resigned" and member.ended_on == local_today()
    assert member.history[-1].action == "resigned" and member.history[-1].reason == "Moving"

    staff = app.test_client()
    login(staff, "staff@example.org")
    url = f"/staff/members/{other.id}"
    post_form(staff, f"{url}/end", {"reason": "Unpaid fees"}, page_url=url)
    db.session.refresh(other)
    assert other.status == "resigned" and other.history[-1].action == "ended"
    actions = db.session.scalars(
        db.select(AuditEntry.action).where(AuditEntry.object_id.in_([member.id, other.id]))
    ).all()
    assert "member.resigned" in actions and "member.ended" in actions


def test_consents_keep_their_history(app, client, ctx):
    member = make_member(consents={"newsletter": True})
    member.user.email = "c@example.org"
    db.session.commit()
    login(client, "c@example.org")
    post_form(client, "/members/me/consents", {"groupable": "y"}, page_url="/members/me")
    assert consents.consents_of(member.user) == {
        "reachable": False,
        "groupable": True,
        "newsletter": False,
    }
    events = db.session.scalars(
        db.select(ConsentEvent)
        .where(ConsentEvent.user_id == member.user_id)
        .order_by(ConsentEvent.id)
    ).all()
    assert [(e.kind, e.given, e.source) for e in events] == [
        ("newsletter", True, "application"),
        ("reachable", False, "form"),  # stated for the first time: declining is recorded too
        ("groupable", True, "form"),
        ("newsletter", False, "form"),
    ]
    assert all(e.by_id == member.user_id and e.text for e in events)


def test_unsubscribe_link_confirm_button_and_one_click(app, client, ctx):
    member = make_member(consents={"newsletter": True})
    db.session.commit()
    with app.test_request_context():
        url = unsubscribe_url(member.user_id)
    path = "/" + url.split("/", 3)[3]

    page = client.get(path)
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert consents.consents_of(member.user)["newsletter"] is True  # a GET changes nothing
    no_token = client.post(path, data={})
    assert no_token.status_code == 400
    assert consents.consents_of(member.user)["newsletter"] is True
    done = post_form(client, path, {})
    assert "unsubscribed" in done.get_data(as_text=True)
    assert consents.consents_of(member.user)["newsletter"] is False
    event = db.session.scalars(
        db.select(ConsentEvent)
        .where(ConsentEvent.user_id == member.user_id)
        .order_by(ConsentEvent.id.desc())
    ).first()
    assert (event.kind, event.given, event.source) == ("newsletter", False, "unsubscribe")

    consents.set_consents(member.user, {"newsletter": True}, member.user_id)
    db.session.commit()
    fresh = app.test_client()  # a mail program: no cookies, no CSRF token
    one_click = fresh.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert consents.consents_of(member.user)["newsletter"] is False
    assert client.get("/unsubscribe/not-a-real-token").status_code == 404


def test_pages_for_someone_who_is_not_a_member(app, client, ctx):
    make_user("visitor@example.org")
    db.session.commit()
    assert client.get("/members/apply").status_code == 302  # login first
    assert client.get("/members/board").status_code == 200
    assert client.get("/groups/").status_code == 200
    login(client, "visitor@example.org")
    account = client.get("/account").get_data(as_text=True)
    assert 'id="membership-card"' in account and 'href="/members/apply"' in account
    me = client.get("/members/me").get_data(as_text=True)
    assert 'href="/members/apply"' in me and "my-record" not in me
    assert client.post("/members/me/resign").status_code == 400  # no CSRF token
    assert post_form(client, "/members/me/edit", {}, page_url="/members/me").status_code == 404


def test_a_record_sent_without_its_unions_field_keeps_the_unions(app, ctx):
    # The record's `unions` attribute is its list of rows; the form must not take it as text.
    user = make_user("union@example.org")
    member = make_member(user)
    records.update_record(member, {}, None, allowed=(), unions=[("BHM", "7")])
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    sent = {k: v for k, v in record(phone="+354 555 9999").items() if v and "national" not in k}
    for email, url in (
        ("union@example.org", "/members/me/edit"),
        ("staff@example.org", f"/staff/members/{member.id}/edit"),
    ):
        client = app.test_client()
        login(client, email)
        response = post_form(client, url, sent, page_url=url)
        assert response.status_code == 302, url
    db.session.refresh(member)
    assert [(u.union, u.member_number) for u in member.unions] == [("BHM", "7")]
    assert member.phone == "+354 555 9999"
