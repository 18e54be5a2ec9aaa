"""Anonymising a person cancels their places at coming events the normal way and their unsent
mail, instead of leaving seats taken and e-mails on their way to a rewritten address."""

from __future__ import annotations

from sqlalchemy import select

from app.core.jobs import commit
from app.core.mail import OutboxMessage, queue_mail
from app.events.models import Event, Registration
from app.extensions import db
from app.members import privacy
from tests.factories import make_event, make_registration, make_user
from tests.helpers import body_text
from tests.members_helpers import make_member


def test_anonymising_frees_the_seat_for_the_waiting_list_and_cancels_unsent_mail(
    app, ctx, run_jobs, mailbox
):
    staff = make_user("privacy@example.org", roles=["membership"])
    leaving = make_member(make_user("leaving@example.org", "Lone Leaving"))
    waiting_user = make_user("next@example.org", "Nina Next")
    full = make_event("Full house", capacity=1, waiting_list_enabled=True)
    mine = make_registration(full, leaving.user)
    theirs = make_registration(full, waiting_user, state="waiting")
    past = make_event("Last year", days_ahead=-30)
    attended = make_registration(past, leaving.user, checked_in_at=past.starts_at)
    commit()
    run_jobs()  # the membership e-mails of the application go out
    sent_before = db.session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.user_id == leaving.user_id, OutboxMessage.state == "sent"
        )
    ).all()
    assert sent_before
    unsent = queue_mail(
        "leaving@example.org",
        "membership_received",
        "en",
        {"name": "Lone Leaving", "link": "http://example.org/members/me"},
        user_id=leaving.user_id,
    )
    commit()  # written, not yet sent
    mailbox.clear()

    privacy.anonymise(leaving, staff.id)
    commit()
    run_jobs()

    db.session.expire_all()
    assert db.session.get(Registration, mine.id).state == "cancelled"
    promoted = db.session.get(Registration, theirs.id)
    assert promoted.state == "confirmed" and promoted.ticket_code
    assert db.session.get(Event, full.id).confirmed_count == 1
    # The promoted person gets their ticket; the anonymised person gets nothing more.
    ticket_mail = mailbox.to("next@example.org")
    assert len(ticket_mail) == 1 and "Full house" in body_text(ticket_mail[0])
    assert [m["To"] for m in mailbox.messages] == [ticket_mail[0]["To"]]
    assert db.session.get(OutboxMessage, unsent.id).state == "cancelled"
    for message_id in sent_before:
        assert db.session.get(OutboxMessage, message_id).state == "sent"
    # What happened before stays, without the person's name.
    kept = db.session.get(Registration, attended.id)
    assert kept.state == "confirmed" and kept.checked_in_at is not None and kept.name == ""
