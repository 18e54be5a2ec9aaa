"""The organisers' side: editing events, bad input, images, registrations view, CSV, messages."""

from __future__ import annotations

import csv
import io
import re

import pytest
from PIL import Image

from app.core.mail import OutboxMessage
from app.core.timeutil import utcnow
from app.events import eligibility, registrations
from app.events.models import Event, EventSlug, Registration, RegistrationTerms
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import csrf_from, html_part, login, post_form, subject

FORM = {
    "title": "Årsmøde i Þórshöfn",
    "summary": "Hele foreningen samles",
    # Markdown: paragraphs, bold and lists become HTML; tags and javascript: links do not.
    "description": "Velkommen!\n\n**Kom** og vær med:\n\n- mad\n- musik\n\n"
    "<script>alert(1)</script> <img src=x onerror=alert(3)> [link](javascript:alert(2))",
    "starts_at": "2031-06-05T18:00",
    "ends_at": "2031-06-05T21:30",
    "venue_name": "Folkets Hus",
    "street": "Nørrebrogade 1",
    "postal_code": "2200",
    "city": "København",
    "country": "Danmark",
    "capacity": "40",
    "waiting_list_enabled": "y",
    "terms": "Afbud senest dagen før.",
    "submit": "1",
}


@pytest.fixture
def organiser(app, ctx):
    user = make_user(email="mette@example.org", roles=["organiser"])
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    return client


def _png(size=(800, 600), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _create(organiser, **changes):
    data = {**FORM, **changes}
    return post_form(organiser, "/staff/events/new", data, content_type="multipart/form-data")


def _count_events() -> int:
    return db.session.scalar(db.select(db.func.count(Event.id)))


def test_create_publish_edit_with_timezone_sanitising_and_terms(organiser, app, run_jobs):
    response = _create(organiser, image=(io.BytesIO(_png()), "photo.png"))
    assert response.status_code == 302
    event = db.session.scalar(db.select(Event))
    assert event.status == "draft" and event.slug == "aarsmoede-i-thorshofn"
    # 18:00 in Copenhagen in June (CEST, UTC+2) is 16:00 UTC.
    assert event.starts_at.isoformat() == "2031-06-05T16:00:00+00:00"
    html = event.description_html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "<p>Velkommen!</p>" in html and "<strong>Kom</strong>" in html and "<li>mad</li>" in html
    assert event.description_markdown.startswith("Velkommen!\n\n**Kom**")
    assert event.current_terms.version == 1 and event.capacity == 40
    assert event.image_key and not event.image_list_key

    # The image sizes come from a job; the page works before and after it.
    assert organiser.get(f"/events/{event.id}/{event.slug}").status_code == 200
    run_jobs()
    db.session.refresh(event)
    assert event.image_list_key and event.image_detail_key
    from app.core.storage import get_storage

    listed = Image.open(io.BytesIO(get_storage().read("public", event.image_list_key)))
    assert listed.size == (640, 360)
    detail = Image.open(io.BytesIO(get_storage().read("public", event.image_detail_key)))
    assert detail.size == (800, 600)  # never enlarged

    page = f"/staff/events/{event.id}/"
    assert (
        post_form(organiser, f"/staff/events/{event.id}/publish", {}, page_url=page).status_code
        == 302
    )
    db.session.refresh(event)
    assert event.status == "published" and event.published_at

    # Editing after publication keeps the slug; new terms are a new version.
    edit = {**FORM, "title": "Årsmøde 2031", "terms": "Afbud senest to dage før."}
    post_form(organiser, f"/staff/events/{event.id}/edit", edit)
    db.session.refresh(event)
    assert event.title == "Årsmøde 2031" and event.slug == "aarsmoede-i-thorshofn"
    assert [t.version for t in event.terms] == [1, 2]

    # An explicit new slug: the old address redirects.
    post_form(organiser, f"/staff/events/{event.id}/edit", {**edit, "slug": "aarsmoede-2031"})
    db.session.refresh(event)
    assert event.slug == "aarsmoede-2031"
    assert db.session.scalar(db.select(EventSlug.slug).filter_by(event_id=event.id)) == (
        "aarsmoede-i-thorshofn"
    )
    old = organiser.get(f"/events/{event.id}/aarsmoede-i-thorshofn")
    assert old.status_code == 301 and old.headers["Location"].endswith("/aarsmoede-2031")


def test_edit_form_shows_local_times(organiser):
    _create(organiser)
    event = db.session.scalar(db.select(Event))
    html = organiser.get(f"/staff/events/{event.id}/edit").get_data(as_text=True)
    assert 'value="2031-06-05T18:00"' in html and 'value="2031-06-05T21:30"' in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": "2031-06-05T17:00"}, "The event must end after it starts."),
        ({"capacity": "-3"}, "The capacity must be at least 1"),
        ({"capacity": "0"}, "The capacity must be at least 1"),
        ({"registration_closes_at": "2031-06-06T10:00"}, "Registration must close before"),
        ({"venue_name": "", "online_url": ""}, "Give a venue or an online link."),
        ({"online_url": "javascript:alert(1)"}, "must start with https://"),
    ],
)
def test_bad_input_is_refused_with_nothing_saved(organiser, changes, message):
    response = _create(organiser, **changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert _count_events() == 0


def test_disguised_and_oversized_images_are_refused(organiser, app):
    disguised = _create(organiser, image=(io.BytesIO(b"<?php echo 1; ?>" * 10), "photo.jpg"))
    assert "not an image we can read" in disguised.get_data(as_text=True)
    big = io.BytesIO()
    Image.frombytes(
        "RGB",
        (1800, 1800),
        bytes(range(256)) * (1800 * 1800 * 3 // 256) + b"\0" * (1800 * 1800 * 3 % 256),
    ).save(big, "BMP")
    assert len(big.getvalue()) > 5 * 1024 * 1024
    oversized = _create(organiser, image=(io.BytesIO(big.getvalue()), "big.bmp"))
    assert "larger than 5 MB" in oversized.get_data(as_text=True)
    too_big_request = _create(organiser, image=(io.BytesIO(b"0" * (13 * 1024 * 1024)), "x.png"))
    assert too_big_request.status_code == 413
    assert _count_events() == 0


def test_capacity_cannot_drop_below_confirmed_and_raising_it_promotes(organiser, run_jobs):
    event = make_event(capacity=2)
    make_registration(event)
    make_registration(event)
    waiting = make_registration(event, state="waiting")
    db.session.commit()
    form = {**FORM, "title": event.title, "slug": event.slug}
    low = post_form(organiser, f"/staff/events/{event.id}/edit", {**form, "capacity": "1"})
    assert "2 people are already confirmed" in low.get_data(as_text=True)
    db.session.refresh(event)
    assert event.capacity == 2
    post_form(organiser, f"/staff/events/{event.id}/edit", {**form, "capacity": "3"})
    db.session.refresh(event)
    db.session.refresh(waiting)
    assert event.capacity == 3 and event.confirmed_count == 3 and waiting.state == "confirmed"


def test_unpublish_duplicate_and_cancel_tells_everyone(organiser, mailbox, run_jobs):
    event = make_event("Sankthans", capacity=1)
    confirmed = make_registration(event, make_user(email="c@example.org", locale="da"))
    make_registration(event, make_user(email="w@example.org", locale="is"), state="waiting")
    db.session.add(RegistrationTerms(event_id=event.id, version=1, text="Terms"))
    db.session.commit()
    page = f"/staff/events/{event.id}/"

    post_form(organiser, f"/staff/events/{event.id}/unpublish", {}, page_url=page)
    db.session.refresh(event)
    assert event.status == "draft"
    post_form(organiser, f"/staff/events/{event.id}/publish", {}, page_url=page)

    copy_response = post_form(organiser, f"/staff/events/{event.id}/duplicate", {}, page_url=page)
    copy = db.session.scalar(db.select(Event).where(Event.id != event.id))
    assert copy_response.headers["Location"].endswith(f"/staff/events/{copy.id}/edit")
    assert copy.status == "draft" and copy.title == "Sankthans (copy)"
    assert copy.public_key != event.public_key and copy.confirmed_count == 0
    assert copy.current_terms.text == "Terms"

    post_form(organiser, f"/staff/events/{event.id}/cancel", {}, page_url=page)
    db.session.refresh(event)
    assert event.status == "cancelled"
    run_jobs()
    [danish] = mailbox.to("c@example.org")
    [icelandic] = mailbox.to("w@example.org")
    assert "Sankthans" in subject(danish) and "Sankthans" in subject(icelandic)
    assert '<html lang="da">' in html_part(danish)  # each in their own language
    assert '<html lang="is">' in html_part(icelandic)
    del confirmed


def test_registrations_view_search_filter_counts_and_actions(organiser, mailbox, run_jobs):
    event = make_event("Koncert", capacity=2)
    ada = make_registration(event, make_user(name="Ada Lovelace", email="ada@example.org"))
    bo = make_registration(event, make_user(name="Bo Ørsted", email="bo@example.org"))
    cy = make_registration(
        event, make_user(name="Cy Young", email="cy@example.org"), state="waiting"
    )
    bo.checked_in_at = utcnow()
    db.session.commit()
    base = f"/staff/events/{event.id}/"
    html = organiser.get(base).get_data(as_text=True)
    assert re.search(r"<strong>2</strong> confirmed / 2", html)
    assert re.search(r"<strong>1</strong> waiting", html)
    assert re.search(r"<strong>1</strong> checked in", html)
    searched = organiser.get(base + "?q=lovelace").get_data(as_text=True)
    assert "Ada Lovelace" in searched and "Bo Ørsted" not in searched
    checked = organiser.get(base + "?state=checked_in").get_data(as_text=True)
    assert "Bo Ørsted" in checked and "Ada Lovelace" not in checked
    waiting = organiser.get(base + "?state=waiting").get_data(as_text=True)
    assert "Cy Young" in waiting and "Waiting list, number 1" in waiting

    # Cancel Ada: Cy is promoted at once.
    post_form(organiser, f"{base}registrations/{ada.id}/cancel", {}, page_url=base)
    db.session.refresh(cy)
    assert cy.state == "confirmed"
    # A checked-in registration cannot be cancelled.
    post_form(organiser, f"{base}registrations/{bo.id}/cancel", {}, page_url=base)
    db.session.refresh(bo)
    assert bo.state == "confirmed"

    # Add people by hand: one with an account, one without (full: waiting list).
    added = post_form(
        organiser,
        f"{base}registrations/add",
        {"name": "Dóra Dóttir", "email": "dora@example.is", "locale": "is"},
    )
    assert added.status_code == 302
    dora = db.session.scalar(db.select(Registration).filter_by(email="dora@example.is"))
    assert dora.state == "waiting" and dora.user_id is None and dora.locale == "is"
    twice = post_form(
        organiser,
        f"{base}registrations/add",
        {"name": "Dóra Dóttir", "email": "dora@example.is", "locale": "is"},
    )
    assert "already registered" in twice.get_data(as_text=True)

    # Move from the waiting list: refused while full, done once a seat is free.
    post_form(organiser, f"{base}registrations/{dora.id}/promote", {}, page_url=base)
    db.session.refresh(dora)
    assert dora.state == "waiting"
    event.capacity = 3
    db.session.commit()
    post_form(organiser, f"{base}registrations/{dora.id}/promote", {}, page_url=base)
    db.session.refresh(dora)
    assert dora.state == "confirmed" and dora.ticket_code

    run_jobs()
    [ticket] = mailbox.to("dora@example.is")
    assert "Koncert" in subject(ticket) and '<html lang="is">' in html_part(ticket)
    post_form(organiser, f"{base}registrations/{dora.id}/resend", {}, page_url=base)
    run_jobs()
    assert len(mailbox.to("dora@example.is")) == 2


def test_csv_export_is_utf8_with_bom(organiser):
    event = make_event("Þjóðhátíð", capacity=10)
    make_registration(event, make_user(name="Ærø Øster Åsa Þór Sigurðsson", email="a@example.org"))
    make_registration(event, make_user(name="=HYPERLINK(1)", email="b@example.org"))
    db.session.commit()
    response = organiser.get(f"/staff/events/{event.id}/registrations.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Name"
    names = {row[0] for row in rows[1:]}
    assert "Ærø Øster Åsa Þór Sigurðsson" in names
    assert "'=HYPERLINK(1)" in names  # never a formula in Excel


def test_message_to_confirmed_attendees_in_batches_and_languages(
    organiser, mailbox, run_jobs, monkeypatch
):
    from app.events import tasks

    monkeypatch.setattr(tasks, "BATCH", 2)
    event = make_event("Generalforsamling", capacity=10)
    for n, locale in enumerate(["da", "is", "en"]):
        make_registration(event, make_user(email=f"m{n}@example.org", locale=locale))
    make_registration(event, make_user(email="waiting@example.org"), state="waiting")
    db.session.commit()
    base = f"/staff/events/{event.id}/"
    response = post_form(
        organiser,
        f"{base}message",
        {"subject": "Husk madpakke", "body": "Vi ses kl. 18.\n\nHilsen bestyrelsen"},
    )
    assert response.status_code == 302
    run_jobs()
    subjects = {m["To"]: subject(m) for m in mailbox.messages}
    assert set(subjects) == {"m0@example.org", "m1@example.org", "m2@example.org"}
    assert all("Husk madpakke" in s for s in subjects.values())
    english = mailbox.to("m2@example.org")[0]
    assert "A message from the organisers" in html_part(english)
    assert '<html lang="is">' in html_part(mailbox.to("m1@example.org")[0])
    # Attendees get it because they registered: no newsletter unsubscribe (header or link).
    assert english["List-Unsubscribe"] is None
    assert "/unsubscribe/" not in html_part(english)
    assert (
        db.session.scalar(
            db.select(db.func.count(OutboxMessage.id)).where(
                OutboxMessage.key.like("event-message:%")
            )
        )
        == 3
    )


def test_a_plain_member_gets_403_on_every_staff_events_route(app, ctx):
    event = make_event(capacity=5)
    registration = make_registration(event)
    member = make_user()
    db.session.commit()
    client = app.test_client()
    login(client, member.email)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff/events")]
    assert len(rules) >= 15
    values = {"event_id": event.id, "registration_id": registration.id}
    for rule in rules:
        url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (method, url, response.status_code)
    anonymous = app.test_client()
    assert anonymous.get("/staff/events/").status_code == 302


def test_organiser_sees_a_draft_preview_and_the_staff_list(organiser):
    draft = make_event("Udkast", status="draft")
    db.session.commit()
    assert "Udkast" in organiser.get("/staff/events/").get_data(as_text=True)
    preview = organiser.get(f"/events/{draft.id}/{draft.slug}").get_data(as_text=True)
    assert "This is a draft" in preview


def test_staff_can_queue_a_person_by_hand_when_full_without_a_waiting_list(ctx):
    """Members are refused when full; staff may still put someone in line for a freed seat."""
    event = make_event(capacity=1, waiting_list_enabled=False)
    make_registration(event)
    db.session.commit()
    with pytest.raises(eligibility.Refused) as refused:
        registrations.register(event.id, make_user(), True)
    assert refused.value.code == "full"
    registration = registrations.add_by_hand(event, "Eva", "eva@example.org", "da", None)
    assert registration.state == "waiting"
