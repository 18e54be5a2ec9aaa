"""Before a message goes to every confirmed attendee, the organiser can preview it and send a test
to themselves; sending to all asks first, naming how many people it reaches."""

from app.core.mail import OutboxMessage
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login, post_form


def _outbox_to(address: str) -> int:
    return db.session.scalar(
        db.select(db.func.count(OutboxMessage.id)).where(OutboxMessage.to_address == address)
    )


def test_preview_and_test_send_reach_only_the_organiser(app, ctx, mailbox, run_jobs):
    organiser = make_user(email="org@example.org", roles=["organiser"], locale="da")
    event = make_event("Generalforsamling", capacity=10)
    for n in range(3):
        make_registration(event, make_user(email=f"guest{n}@example.org"))
    db.session.commit()
    client = app.test_client()
    login(client, organiser.email)
    url = f"/staff/events/{event.id}/message"
    page = client.get(url).get_data(as_text=True)
    assert "Send this message to 3 people now?" in page or "3 personer" in page

    data = {"subject": "Husk madpakke", "body": "Vi ses kl. 18.\n\nHilsen"}
    preview = post_form(client, url, {**data, "preview": "1"})
    assert preview.status_code == 200 and "Husk madpakke" in preview.get_data(as_text=True)
    assert _outbox_to("org@example.org") == 0

    test = post_form(client, url, {**data, "test": "1"})
    assert test.status_code == 200
    run_jobs()
    assert [m["To"] for m in mailbox.messages] == ["org@example.org"]
    assert all(_outbox_to(f"guest{n}@example.org") == 0 for n in range(3))

    assert post_form(client, url, data).status_code == 302  # the real send
    run_jobs()
    assert all(_outbox_to(f"guest{n}@example.org") == 1 for n in range(3))


def test_a_test_send_with_an_empty_subject_is_refused_in_the_form(app, ctx):
    organiser = make_user(roles=["organiser"])
    event = make_event(capacity=10)
    db.session.commit()
    client = app.test_client()
    login(client, organiser.email)
    response = post_form(
        client, f"/staff/events/{event.id}/message", {"subject": " ", "body": "x", "test": "1"}
    )
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
