"""The contact form (/contact): a conversation in the staff inbox and a confirmation e-mail in the
sender's language; the spam rules (honeypot, minimum fill time, a forged form, the per-address
rate limit) send suspected spam to the spam folder, never away; a double submit is one message."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.mail import OutboxMessage
from app.extensions import db
from app.inbox.models import Conversation
from tests.factories import make_user
from tests.helpers import body_text, login, post_form
from tests.inbox_helpers import contact_page, later, send_contact


def _conversations() -> list[Conversation]:
    return list(db.session.scalars(select(Conversation).order_by(Conversation.id)))


def test_a_contact_message_reaches_the_inbox_and_the_sender_gets_a_confirmation(
    client, ctx, mailbox, run_jobs, monkeypatch
):
    client.set_cookie("lang", "is")
    response = send_contact(client, monkeypatch, email="sigrun@example.is")
    assert response.status_code == 302 and response.location.endswith("/contact")
    [conversation] = _conversations()
    assert (conversation.state, conversation.origin, conversation.spam_reason) == (
        "new",
        "contact",
        None,
    )
    assert conversation.messages[0].body == "Hvernig gerist ég félagi?"
    assert conversation.unread_by_staff
    run_jobs()
    [mail] = mailbox.to("sigrun@example.is")
    assert "Hvernig gerist ég félagi?" in body_text(mail)
    # Queued in the language the sender used the site in.
    assert db.session.scalar(select(OutboxMessage.locale)) == "is"


def test_the_hidden_honeypot_field_filled_in_sends_it_to_spam_without_a_confirmation(
    client, ctx, mailbox, run_jobs, monkeypatch
):
    response = send_contact(client, monkeypatch, website="http://cheap.example")
    assert response.status_code == 302  # the same answer: a script learns nothing
    [conversation] = _conversations()
    assert (conversation.state, conversation.spam_reason) == ("spam", "honeypot")
    assert not conversation.unread_by_staff
    run_jobs()
    assert mailbox.to("sigrun@example.is") == []


def test_a_form_sent_faster_than_a_person_types_goes_to_spam(client, ctx, monkeypatch):
    send_contact(client, monkeypatch, seconds=0.5)
    [conversation] = _conversations()
    assert (conversation.state, conversation.spam_reason) == ("spam", "too_fast")


def test_a_form_with_a_forged_token_goes_to_spam(client, ctx, monkeypatch):
    send_contact(client, monkeypatch, token="eyJ0IjoxfQ.forged")
    [conversation] = _conversations()
    assert (conversation.state, conversation.spam_reason) == ("spam", "no_token")


def test_staff_find_spam_in_its_folder_and_move_it_back(client, ctx, monkeypatch, app):
    send_contact(client, monkeypatch, seconds=0.1, subject="Real question")
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    staff = app.test_client()
    login(staff, "staff@example.org")
    assert "Real question" not in staff.get("/staff/inbox/").get_data(as_text=True)
    spam = staff.get("/staff/inbox/?state=spam").get_data(as_text=True)
    assert "Real question" in spam
    [conversation] = _conversations()
    url = f"/staff/inbox/{conversation.id}"
    assert "sent faster than a person types" in staff.get(url).get_data(as_text=True)
    post_form(staff, f"{url}/state", {"state": "open"}, url)
    assert "Real question" in staff.get("/staff/inbox/").get_data(as_text=True)


def test_the_contact_form_is_rate_limited_per_address(client, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_RATE_LIMIT", "3 per hour")
    for n in range(3):
        assert send_contact(client, monkeypatch, subject=f"Question {n}").status_code == 302
    refused = send_contact(client, monkeypatch, subject="One too many")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(_conversations()) == 3
    # Another address is not held back by this one.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert send_contact(other, monkeypatch, subject="From elsewhere").status_code == 302
    assert len(_conversations()) == 4


def test_a_double_submit_is_one_conversation_and_one_confirmation(
    client, ctx, mailbox, run_jobs, monkeypatch
):
    csrf, token = contact_page(client)
    later(monkeypatch, 20)
    data = {
        "csrf_token": csrf,
        "token": token,
        "name": "Bo",
        "email": "bo@example.dk",
        "subject": "Kontingent",
        "message": "Hvad koster det?",
    }
    assert client.post("/contact", data=data).status_code == 302
    assert client.post("/contact", data=data).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
    run_jobs()
    assert len(mailbox.to("bo@example.dk")) == 1


def test_the_contact_form_asks_again_for_missing_fields(client, ctx, monkeypatch):
    response = send_contact(client, monkeypatch, email="not an address", message="")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and _conversations() == []
