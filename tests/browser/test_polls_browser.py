"""In headless Chromium: a member votes on a phone (ranks chosen with selects, no dragging),
keeps the receipt and checks it; live results update by themselves after another vote."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.extensions import db
from app.polls.ballots import cast
from app.polls.models import Ballot, BallotChoice
from tests.factories import make_poll, make_user
from tests.helpers import PASSWORD, screenshot

QUESTIONS = (
    ("Godkender du regnskabet?", "yes_no", (), 1, 1),
    ("Udvalg", "multiple", ("Dagný", "Eiríkur", "Finnur"), 2, 1),
    ("Bestyrelse", "ranked", ("Hallur", "Ívar", "Jóna", "Kári"), 1, 2),
)


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def test_member_votes_on_a_phone_and_checks_the_receipt(app, phone_page):
    page = phone_page
    with app.app_context():
        make_user(email="sigga@example.is", name="Sigríður Jónsdóttir", locale="da")
        poll = make_poll(title="Generalforsamling 2027", questions=QUESTIONS)
        db.session.commit()
        poll_id = poll.id
        approve, committee, board = ((q.id, [o.id for o in q.options]) for q in poll.questions)

    _login(page, "sigga@example.is")
    page.goto("/polls/")
    page.get_by_role("link", name="Generalforsamling 2027").first.click()
    page.wait_for_url(f"**/polls/{poll_id}")
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.locator(f"#q{approve[0]}-{approve[1][0]}").check()
    # Multiple choice: after two boxes the third is disabled.
    page.locator(f"#q{committee[0]}-{committee[1][0]}").check()
    page.locator(f"#q{committee[0]}-{committee[1][2]}").check()
    expect(page.locator(f"#q{committee[0]}-{committee[1][1]}")).to_be_disabled()

    # Ranking by keyboard-usable selects; giving a used rank to another option swaps them.
    hallur, ivar, jona, _kari = (f"#rank-{board[0]}-{o}" for o in board[1])
    page.locator(ivar).select_option("1")
    page.locator(hallur).select_option("2")
    page.locator(jona).select_option("1")
    expect(page.locator(jona)).to_have_value("1")
    expect(page.locator(ivar)).to_have_value("")
    page.locator(ivar).select_option("3")
    screenshot(page, "polls-ballot-phone")

    page.locator("form.poll-form button[type=submit]").click()
    receipt = page.locator("[data-receipt]").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", receipt)
    screenshot(page, "polls-receipt-phone")

    with app.app_context():
        [ballot] = db.session.scalars(db.select(Ballot)).all()
        assert ballot.user_id is None
        ranked = (
            db.session.execute(
                db.select(BallotChoice.option_id)
                .where(BallotChoice.question_id == board[0])
                .order_by(BallotChoice.rank)
            )
            .scalars()
            .all()
        )
        assert ranked == [board[1][2], board[1][0], board[1][1]]  # Jóna, Hallur, Ívar

    # The receipt check on the results page (the results themselves come after closing).
    page.goto(f"/polls/{poll_id}/results")
    page.locator("#receipt").fill(receipt.lower())
    page.locator(".poll-receipt-check button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.goto(f"/polls/{poll_id}")
    expect(page.locator("[data-poll-state=voted]")).to_be_visible()
    assert receipt not in page.content()


def test_live_results_update_without_reloading(app, page):
    with app.app_context():
        make_user(email="anna@example.org", name="Anna Holm", locale="da")
        other = make_user(email="bo@example.org", name="Bo Berg", locale="da")
        poll = make_poll(
            title="Sommerfest",
            questions=(("Hvor?", "single", ("Strand", "Skov"), 1, 1),),
            results_mode="live",
        )
        db.session.commit()
        poll_id, other_id = poll.id, other.id
        question_id = poll.questions[0].id
        strand, skov = (o.id for o in poll.questions[0].options)

    _login(page, "anna@example.org")
    page.goto(f"/polls/{poll_id}/results")
    expect(page.locator(f'[data-votes="{skov}"]')).to_have_text("0")
    # Chart.js drew the chart beside the table.
    page.wait_for_function("window.Chart && Chart.getChart(document.querySelector('canvas'))")
    page.evaluate("() => { window.__notReloaded = true; }")

    with app.app_context():
        from app.auth.models import User
        from app.polls.models import Poll

        cast(
            db.session.get(Poll, poll_id),
            db.session.get(User, other_id),
            {str(question_id): [skov]},
        )
        db.session.commit()

    expect(page.locator(f'[data-votes="{skov}"]')).to_have_text("1", timeout=20000)
    expect(page.locator("[data-turnout]")).to_contain_text("1")
    assert page.evaluate("window.__notReloaded") is True  # updated in place, no reload
    page.wait_for_function("window.Chart && Chart.getChart(document.querySelector('canvas'))")
    screenshot(page, "polls-live-results")
    assert strand
