"""Privacy: the data export covers every table that refers to the person; anonymisation."""

from datetime import date

from sqlalchemy import text

from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from app.members import groups, records, titles
from app.members.models import Membership
from app.polls.ballots import cast
from tests.factories import make_event, make_poll, make_registration, make_user
from tests.helpers import PASSWORD, login, post_form
from tests.members_helpers import kennitala, make_member

# Where the export (GET /account/data.json) holds each table that refers to a person. A new table
# with a foreign key to users (or to a member record) must be added here and to the export.
EXPORT_SECTION = {
    "users": "account",
    "user_roles": "account.roles",
    "audit_entries": "audit",
    "outbox_messages": "emails",
    "registrations": "event_registrations",
    "memberships": "membership",
    "membership_events": "membership.history",
    "union_memberships": "membership.unions",
    "consents": "consents",
    "consent_events": "consent_history",
    "group_members": "groups",
    "member_titles": "titles",
    "member_notes": "staff_notes",
    "api_tokens": "api_tokens",
    "events": "events_created",
    "event_messages": "event_messages_sent",
    "checkin_scans": "door_scans",
    "member_imports": "member_imports_uploaded",
    "newsletters": "newsletters_written",
    "posts": "posts_written",
    "pages": "pages_edited",
    "polls": "polls_created",
    "poll_electors": "polls_eligible",
    "poll_participations": "polls_voted_in",
    "poll_ballots": "poll_answers",  # open ballots only: a secret ballot names nobody
    "conversations": "conversations",
    "conversation_messages": "conversations",  # each conversation with its messages
    "passkeys": "passkeys",
    "sign_in_identities": "sign_in_providers",
    "forms": "forms_created",
    "form_responses": "form_answers",  # named answers; anonymous ones name nobody
    "form_participations": "forms_answered",
    "sign_in_sessions": "sign_in_sessions",
    "recovery_codes": "second_factor.recovery_codes",
    "refresh_tokens": "app_sign_ins",
    "webhook_endpoints": "webhook_endpoints_created",
    "public_charts": "public_charts_chosen",
}


def _tables_about_people() -> set[str]:
    """Every table with a foreign key to users or to a member record (from db.metadata)."""
    found = set()
    for table in db.metadata.sorted_tables:
        targets = {fk.column.table.name for fk in table.foreign_keys}
        if targets & {"users", "memberships"}:
            found.add(table.name)
    return found


def _section(data: dict, path: str):
    value = data
    for part in path.split("."):
        value = value[part]
    return value


def test_every_table_that_refers_to_a_person_is_in_the_export(app):
    with app.app_context():
        missing = _tables_about_people() - set(EXPORT_SECTION)
    assert not missing, f"tables referring to a person but not in /account/data.json: {missing}"


def test_the_export_holds_the_persons_rows_from_every_table(app, client, ctx, run_jobs):
    staff = make_user("staff@example.org", roles=["membership"])
    user = make_user("me@example.org", "Ég Sjálf", roles=["door"])
    number = kennitala(date(1992, 2, 2))
    membership = make_member(user, national_id=number, staff=staff, unions=None)
    records.update_record(membership, {"job_title": "Pilot"}, user.id, unions=[("VR", "7")])
    group = groups.save_group(None, name="Cell", kind="cell")
    groups.join(group, membership, user.id)
    titles.add_title(membership, "treasurer", date(2024, 1, 1), actor_id=staff.id)
    records.add_note(membership, "Prefers phone calls", "contact", staff.id)
    ticket = make_registration(make_event(), user=user)
    from app.api.services import create_token
    from app.checkin.redeem import Scanner, redeem
    from app.events.models import EventMessage

    redeem(
        ticket.event_id,
        ticket.ticket_code,
        "nonce-export-1",
        Scanner(staff.id, staff.name, "phone", "door"),
    )
    organised = make_event("My own meetup", created_by_id=user.id)
    db.session.add(
        EventMessage(
            event_id=organised.id,
            subject="Hi",
            body="Bring snacks",
            sent_by_id=user.id,
            recipient_count=0,
        )
    )

    create_token(user, "my scanner")
    from app.members.models import MemberImport

    db.session.add(
        MemberImport(created_by_id=user.id, state="done", total_rows=3, imported_count=3)
    )
    from app.news.newsletter_models import Newsletter, NewsletterText

    db.session.add(
        Newsletter(
            language="en",
            created_by_id=user.id,
            texts=[NewsletterText(locale="en", subject="Autumn news", body="Hello")],
        )
    )
    from app.news import pages as news_pages
    from app.news.services import PostFields, create_post

    create_post(PostFields(title="My post"), user)
    news_pages.ensure_pages()
    news_pages.save_page_text(news_pages.get_page("about"), "en", "About", "Our club", user)
    from app.inbox import services as inbox

    inbox.start_from_member(user, "Address change", "I have moved.")
    open_ballot = make_poll(title="Open vote", secret=False, created_by_id=user.id)
    cast(open_ballot, user, {str(q.id): [q.options[0].id] for q in open_ballot.questions})
    from app.forms.answers import submit
    from tests.forms_helpers import make_form, question

    survey = make_form("survey", "Survey", [question("yes_no", "Happy?")], actor=user)
    submit(survey, user, {survey.active_questions[0].id: True}, "en")
    db.session.commit()
    run_jobs()
    login(client, "me@example.org")
    from app.auth.sign_in_models import Passkey, SignInIdentity

    # After the login: a passkey is a second factor, which the login would then ask for.
    db.session.add(
        Passkey(user_id=user.id, credential_id="c1", public_key=b"k", user_handle=b"h", name="Key")
    )
    db.session.add(SignInIdentity(provider="github", subject="42", user_id=user.id))
    from app.auth import totp

    totp.new_recovery_codes(user)
    from app.api import app_tokens
    from app.webhooks.models import WebhookEndpoint

    app_tokens.issue(user)
    from app.insights.models import PublicChart

    db.session.add(PublicChart(chart_key="members.region", made_public_by_id=user.id))
    db.session.add(
        WebhookEndpoint(
            url="https://hooks.example.org/in",
            events=["member.created"],
            secret_encrypted="x",
            created_by_id=user.id,
        )
    )
    db.session.commit()
    response = client.get("/account/data.json")
    assert response.status_code == 200
    data = response.get_json()
    for table, path in EXPORT_SECTION.items():
        assert _section(data, path), (table, path)
    assert data["membership"]["national_id"] == f"{number[:6]}-{number[6:]}"
    assert data["membership"]["unions"] == [{"union": "VR", "member_number": "7"}]
    assert data["groups"][0]["slug"] == "cell"
    assert data["titles"][0]["title"] == "treasurer"
    assert data["staff_notes"][0]["text"] == "Prefers phone calls"
    assert "author" not in data["staff_notes"][0]  # the staff member's identity is theirs
    assert {e["consent"] for e in data["consent_history"]} >= {"reachable", "groupable"}
    [conversation] = data["conversations"]
    assert conversation["subject"] == "Address change"
    assert conversation["messages"][0]["body"] == "I have moved."


def test_anonymisation_removes_personal_data_and_keeps_statistics(app, client, ctx, run_jobs):
    staff = make_user("staff@example.org", roles=["membership"])
    user = make_user("erase@example.org", "Erase Me")
    number = kennitala(date(1980, 4, 4))
    membership = make_member(
        user,
        full_name="Erase Me",
        national_id=number,
        phone="+354 600 1234",
        municipality="Akureyrarbær",
    )
    group = groups.save_group(None, name="Cell", kind="cell")
    groups.join(group, membership, None)
    records.add_note(membership, "Secret note", "", staff.id)
    records.update_record(membership, {"job_title": "Baker"}, staff.id)
    event = make_event()
    make_registration(event, user=user)
    db.session.commit()
    run_jobs()

    login(client, "erase@example.org")
    post_form(client, "/members/me/erasure", {"confirm": "y"}, page_url="/members/me")
    db.session.refresh(membership)
    assert membership.erasure_requested_at is not None

    staff_client = app.test_client()
    login(staff_client, "staff@example.org")
    queue = staff_client.get("/staff/members/applications").get_data(as_text=True)
    assert "Erase Me" in queue.split('id="erasure-requests"', 1)[1]
    url = f"/staff/members/{membership.id}"
    refused = post_form(staff_client, f"{url}/anonymise", {}, page_url=url)
    assert refused.status_code == 422  # the box must be ticked
    done = post_form(staff_client, f"{url}/anonymise", {"confirm": "y"}, page_url=url)
    assert done.status_code == 302

    row = (
        db.session.execute(text("SELECT * FROM memberships WHERE id = :id"), {"id": membership.id})
        .mappings()
        .one()
    )
    assert row["full_name"] == "" and row["phone"] == "" and row["street"] == ""
    assert row["national_id_encrypted"] is None and row["national_id_hash"] is None
    assert row["birthday"] is None and row["job_title"] == ""
    # statistics stay
    assert row["status"] == "resigned" and row["joined_on"] is not None
    assert row["birth_year"] == 1980 and row["municipality"] == "Akureyrarbær"
    assert row["anonymised_at"] is not None

    account = db.session.get(User, user.id)
    assert "erase" not in account.email and account.name != "Erase Me"
    assert not account.is_active
    for table, column in [
        ("registrations", "email"),
        ("registrations", "name"),
        ("outbox_messages", "to_address"),
    ]:
        values = db.session.execute(text(f"SELECT {column} FROM {table}")).scalars().all()
        assert "erase@example.org" not in values and "Erase Me" not in values, table
    everything = " ".join(
        str(r) for r in db.session.execute(text("SELECT before, after FROM audit_entries")).all()
    )
    assert "Baker" not in everything and "Secret note" not in everything
    assert db.session.execute(text("SELECT count(*) FROM member_notes")).scalar() == 0
    assert db.session.execute(text("SELECT count(*) FROM consents")).scalar() == 0
    db.session.refresh(group)
    assert group.member_count == 0
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="member.anonymised"))
    assert entry.actor_id == staff.id and entry.object_id == membership.id
    # the registration still counts for the event's statistics
    assert db.session.execute(text("SELECT count(*) FROM registrations")).scalar() == 1
    # and the person can no longer log in
    again = app.test_client()
    response = post_form(again, "/auth/login", {"email": "erase@example.org", "password": PASSWORD})
    assert response.status_code == 200
    counts = db.session.scalar(db.select(db.func.count(Membership.id)))
    assert counts == 1
