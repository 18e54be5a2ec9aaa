"""The audit log and the check-in log read as sentences in the reader's language, with the
values before and after as readable fields, never JSON or action codes."""

from __future__ import annotations

import re
import uuid

import pytest

from app.core import audit
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login

APPROVED = {
    "en": "Sigga Staff approved the application of Jón Jónsson",
    "da": "Sigga Staff godkendte ansøgningen fra Jón Jónsson",
    "is": "Sigga Staff samþykkti umsóknina frá Jón Jónsson",
}
STATUS = {"en": ("Applied", "Active"), "da": ("Ansøgt", "Aktiv"), "is": ("Sótt um", "Virk")}
CHECKED_IN = {
    "en": "Anna Door checked in Bjarni Guest",
    "da": "Anna Door checkede Bjarni Guest ind",
    "is": "Anna Door innritaði Bjarni Guest",
}


def _visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("locale", ["en", "da", "is"])
def test_the_audit_log_tells_what_happened_in_a_sentence(app, client, ctx, locale):
    staff = make_user("sigga@example.org", "Sigga Staff", roles=["admin"], locale=locale)
    member = make_user("jon@example.org", "Jón Jónsson")
    audit.record(
        "member.approved",
        "membership",
        7,
        {"status": "applied"},
        {"status": "active", "automatic": False},
        actor_id=staff.id,
        subject_user_id=member.id,
    )
    event = make_event("Sommerfest")
    audit.record("event.published", "event", event.id, None, {"title": "Sommerfest"}, staff.id)
    db.session.commit()
    login(client, "sigga@example.org")
    html = client.get("/staff/audit/").get_data(as_text=True)
    text = _visible_text(html)
    assert APPROVED[locale] in text
    before, after = STATUS[locale]
    assert f"{before} → {after}" in text
    assert "“Sommerfest”" in text
    # No codes and no JSON reach the reader.
    assert "member.approved" not in text and "event.published" not in text
    assert '{"status"' not in html and "&#34;status&#34;" not in html


@pytest.mark.parametrize("locale", ["en", "da", "is"])
def test_the_check_in_log_tells_who_checked_in_whom(app, client, ctx, locale):
    make_user("anna@example.org", "Anna Door", roles=["door", "organiser"], locale=locale)
    event = make_event("Vinterfest")
    guest = make_registration(event, make_user(name="Bjarni Guest"))
    db.session.commit()
    login(client, "anna@example.org")
    page = client.get(f"/door/{event.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    scanned = client.post(
        f"/door/{event.id}/scan",
        json={"code": guest.short_code, "nonce": uuid.uuid4().hex},
        headers={"X-CSRFToken": csrf},
    )
    assert scanned.get_json()["status"] == "ok"
    html = client.get(f"/staff/events/{event.id}/door").get_data(as_text=True)
    text = _visible_text(html)
    assert CHECKED_IN[locale] in text
    assert not re.search(r"\b[0-9a-f]{32}\b", text)
