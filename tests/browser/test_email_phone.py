"""In headless Chromium on a phone: an e-mail with a long link or word in what a person wrote
(a staff answer, a newsletter) wraps it instead of widening the whole message."""

from __future__ import annotations

from app.core.jobs import commit
from app.extensions import db
from app.inbox import services as inbox
from app.members.consents import set_consents
from app.news import newsletters
from tests.factories import make_user
from tests.helpers import html_part

LONG_LINK = "https://example.org/documents/" + "annual-report-" * 12 + ".pdf"
LONG_WORD = "Generalforsamlingsbeslutningsprotokol" * 3


def _width_on_a_phone(browser, html: str) -> int:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_content(html)
    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    return width


def test_long_links_and_words_wrap_in_e_mails_on_a_phone(app, ctx, browser, mailbox, run_jobs):
    member = make_user("reader@example.org")
    staff = make_user("staff@example.org", "Staff", roles=["membership"])
    set_consents(member, {"newsletter": True}, actor_id=member.id)
    conversation = inbox.start_from_member(member, "Documents", "Where is the report?")
    inbox.reply_from_staff(conversation, staff, f"Here: {LONG_LINK}\n\n{LONG_WORD}")
    letter = newsletters.save_newsletter(
        None,
        language="en",
        texts={"en": ("Report", f"Read it: {LONG_LINK} {LONG_WORD}")},
        audience="newsletter",
    )
    db.session.flush()
    newsletters.start_sending(letter, staff.id)
    commit()
    run_jobs()
    messages = mailbox.to("reader@example.org")
    assert len(messages) >= 2
    for message in messages:
        html = html_part(message)
        assert LONG_WORD in html
        assert _width_on_a_phone(browser, html) <= 360, message["Subject"]
