"""In headless Chromium on a phone: a table with a hidden header and long words and links people
wrote do not make a page wider than the screen."""

from __future__ import annotations

import pytest

from app.api.services import create_token
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD


@pytest.mark.parametrize("path", ["/staff/tokens/"])
def test_a_table_with_a_hidden_header_does_not_widen_the_page(app, phone_page, path):
    page = phone_page
    with app.app_context():
        admin = make_user(email="ragna@example.dk", roles=["admin"], locale="da")
        create_token(admin, "Scanner ved indgangen")  # an empty list has no table
        db.session.commit()
    page.goto("/auth/login")
    page.locator("#email").fill("ragna@example.dk")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_load_state()
    page.goto(path)

    assert page.locator(".table-responsive th .visually-hidden").count() == 1
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


LONG_WORD = "Aðalfundarsamþykktaendurskoðunarnefndarformannskosning"
LONG_LINK = "https://example.org/skjol/" + "arsskyrsla-" * 8 + ".pdf"


def test_long_words_and_links_people_wrote_wrap_on_a_phone(app, phone_page):
    from tests.factories import make_event, make_poll
    from tests.forms_helpers import make_form, question

    page = phone_page
    with app.app_context():
        make_user(email="ragna@example.dk", roles=["admin"], locale="is")
        title = f"{LONG_WORD} {LONG_LINK}"
        event = make_event(title[:200])
        poll = make_poll(title=title[:200], questions=((title[:300], "yes_no", (), 1, 1),))
        form = make_form(title=LONG_WORD, questions=[question("short_text", title)])
        db.session.commit()
        pages = ["/polls/", f"/polls/{poll.id}", f"/staff/polls/{poll.id}/"]
        pages += [f"/staff/events/{event.id}/", f"/staff/forms/{form.id}/", "/events/"]
    page.goto("/auth/login")
    page.locator("#email").fill("ragna@example.dk")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_load_state()
    wide = {}
    for url in pages:
        assert page.goto(url).status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.evaluate("document.documentElement.clientWidth"):
            wide[url] = width
    assert not wide, wide
