"""The voter's pages: my polls, the ballot on the web, the receipt, results and receipt checks."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.polls.ballots import cast
from app.polls.models import Ballot
from tests.factories import make_poll, make_user
from tests.helpers import csrf_from, login, statements_of

QUESTIONS = (
    ("Approve the accounts?", "yes_no", (), 1, 1),
    ("Committee", "multiple", ("Dag", "Eir", "Finn"), 2, 1),
    ("Board", "ranked", ("Hal", "Ivy", "Jon", "Kai"), 1, 2),
)
RECEIPT_RE = re.compile(r"data-receipt>([A-Z0-9-]+)<")


def ballots():
    return db.session.scalar(select(func.count()).select_from(Ballot))


def setup_poll(**fields):
    voter = make_user("voter@example.org")
    poll = make_poll(questions=QUESTIONS, **fields)
    db.session.commit()
    return voter, poll


def form_for(poll, picks):
    """Form fields for a ballot: yes/no option, committee options, ranks {option: n}."""
    approve, committee, board = poll.questions
    data = {f"q{approve.id}": str(picks["approve"]), f"q{committee.id}": picks["committee"]}
    for option_id, rank in picks["ranks"].items():
        data[f"rank-{board.id}-{option_id}"] = str(rank)
    return data


def vote(client, poll, picks):
    page = client.get(f"/polls/{poll.id}")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), **form_for(poll, picks)}
    return client.post(f"/polls/{poll.id}", data=data)


def test_list_shows_my_open_polls_with_voted_and_published_results(client, ctx):
    voter = make_user("voter@example.org")
    other = make_poll(title="Spring vote", questions=QUESTIONS)
    voted = make_poll(title="Autumn vote", questions=QUESTIONS)
    make_poll(title="Draft vote", questions=QUESTIONS, status="draft")
    make_poll(title="Published vote", questions=QUESTIONS, status="published")
    cast(voted, voter, {})
    db.session.commit()
    login(client, "voter@example.org")
    html = client.get("/polls/").get_data(as_text=True)
    assert "Spring vote" in html and "Autumn vote" in html and "Published vote" in html
    assert "Draft vote" not in html
    open_part = html.split('id="published-heading"')[0]
    assert "Published vote" not in open_part
    autumn = open_part.split("Autumn vote")[1].split("</li>")[0]
    assert "You have voted" in autumn
    assert "You have voted" not in open_part.split("Spring vote")[1].split("</li>")[0]
    assert other.id


def test_voting_on_the_web_shows_a_receipt_once_that_checks_as_counted(client, ctx):
    voter, poll = setup_poll(results_mode="live")
    approve, committee, board = poll.questions
    hal, ivy, jon, kai = (o.id for o in board.options)
    login(client, "voter@example.org")
    page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    assert 'name="rank-' in page and "Cast my vote" in page
    response = vote(
        client,
        poll,
        {
            "approve": approve.options[0].id,
            "committee": [committee.options[0].id, committee.options[2].id],
            "ranks": {ivy: 1, hal: 2, kai: ""},
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    receipt = RECEIPT_RE.search(html).group(1)
    assert ballots() == 1
    # The receipt is not on any later page.
    again = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    assert receipt not in again and "You have voted" in again
    assert "Cast my vote" not in again
    results = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert receipt not in results
    token = csrf_from(results)
    checked = client.post(
        f"/polls/{poll.id}/receipt", data={"csrf_token": token, "receipt": receipt.lower()}
    )
    assert "A ballot with this receipt was counted." in checked.get_data(as_text=True)
    wrong = client.post(
        f"/polls/{poll.id}/receipt", data={"csrf_token": token, "receipt": "AAAA-BBBB-CCCC-DDDD"}
    )
    assert "No ballot with this receipt was found" in wrong.get_data(as_text=True)


def test_a_second_ballot_on_the_web_is_refused_with_a_reason(client, ctx):
    voter, poll = setup_poll()
    picks = {"approve": poll.questions[0].options[1].id, "committee": [], "ranks": {}}
    login(client, "voter@example.org")
    page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    token = csrf_from(page)
    first = client.post(f"/polls/{poll.id}", data={"csrf_token": token, **form_for(poll, picks)})
    assert first.status_code == 200
    second = client.post(f"/polls/{poll.id}", data={"csrf_token": token, **form_for(poll, picks)})
    assert second.status_code == 409
    assert "You have already voted in this poll." in second.get_data(as_text=True)
    assert ballots() == 1


def test_duplicate_ranks_and_too_many_choices_are_refused_on_the_web(client, ctx):
    voter, poll = setup_poll()
    board = poll.questions[2]
    hal, ivy, *_rest = (o.id for o in board.options)
    login(client, "voter@example.org")
    same_rank = vote(client, poll, {"approve": "", "committee": [], "ranks": {hal: 1, ivy: 1}})
    assert same_rank.status_code == 422
    assert "Two options have the same rank." in same_rank.get_data(as_text=True)
    too_many = vote(
        client,
        poll,
        {"approve": "", "committee": [o.id for o in poll.questions[1].options], "ranks": {}},
    )
    assert too_many.status_code == 422
    assert "Choose at most 2 options." in too_many.get_data(as_text=True)
    # What was ticked is shown again.
    assert "checked" in too_many.get_data(as_text=True)
    assert ballots() == 0


def test_people_outside_the_electorate_see_why_and_cannot_vote(client, ctx):
    poll = make_poll(questions=QUESTIONS)
    make_user("late@example.org")
    db.session.commit()
    login(client, "late@example.org")
    page = client.get(f"/polls/{poll.id}")
    html = page.get_data(as_text=True)
    assert "electorate, so you cannot vote in it." in html and "Cast my vote" not in html
    response = client.post(f"/polls/{poll.id}", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 403
    assert ballots() == 0


def test_closed_poll_refuses_and_drafts_are_not_found(client, ctx):
    voter = make_user("voter@example.org")
    closed = make_poll(questions=QUESTIONS, status="closed")
    draft = make_poll(questions=QUESTIONS, status="draft")
    db.session.commit()
    login(client, "voter@example.org")
    html = client.get(f"/polls/{closed.id}").get_data(as_text=True)
    assert "This poll is closed." in html
    response = client.post(f"/polls/{closed.id}", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 409
    assert client.get(f"/polls/{draft.id}").status_code == 404
    assert voter.id and ballots() == 0


def test_results_after_close_are_hidden_until_published(client, ctx):
    voter = make_user("voter@example.org")
    poll = make_poll(questions=QUESTIONS)
    approve, _committee, board = poll.questions
    cast(
        poll,
        voter,
        {str(approve.id): [approve.options[0].id], str(board.id): [board.options[1].id]},
    )
    db.session.commit()
    login(client, "voter@example.org")
    hidden = client.get(f"/polls/{poll.id}/results")
    assert hidden.status_code == 403
    assert "not shown yet" in hidden.get_data(as_text=True)
    assert client.get(f"/polls/{poll.id}/results.json").status_code == 403
    poll.status = "published"
    db.session.commit()
    shown = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "1 of " in shown and "Approve the accounts?" in shown
    assert "vendor/chart.umd.min.js" in shown and "data-chart=" in shown
    assert "<table" in shown and "The count, round by round" in shown


def test_results_show_counts_percentages_blank_turnout_and_rounds(client, ctx):
    voters = [make_user(f"v{n}@example.org") for n in range(4)]
    poll = make_poll(questions=QUESTIONS, status="open", results_mode="live")
    approve, committee, board = poll.questions
    yes, no, _abstain = (o.id for o in approve.options)
    hal, ivy, jon, kai = (o.id for o in board.options)
    cast(poll, voters[0], {str(approve.id): [yes], str(board.id): [hal, ivy]})
    cast(poll, voters[1], {str(approve.id): [yes], str(board.id): [hal, jon]})
    cast(poll, voters[2], {str(approve.id): [no], str(board.id): [ivy]})
    db.session.commit()
    login(client, "v0@example.org")
    html = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "3 of 4 people voted" in html and "75.0%" in html
    assert 'data-live-url="/polls/' in html
    yes_row = html.split(">Yes</th>")[1].split("</tr>")[0]
    assert ">2<" in yes_row and "66.7%" in yes_row
    blank_row = html.split(f'data-blank="{committee.id}"')[1].split("</tr>")[0]
    assert ">3<" in blank_row and "100.0%" in blank_row
    assert "Round 1" in html and "Quota" in html and "Elected:" in html
    data = client.get(f"/polls/{poll.id}/results.json").get_json()
    assert data["voted"] == 3 and data["electorate"] == 4
    assert data["questions"][0]["options"][0] == {
        "id": yes,
        "text": "Yes",
        "value": "yes",
        "votes": 2,
        "percent": 66.7,
    }
    assert data["questions"][2]["elected"] == [hal, ivy]
    assert "Round 1" in data["html"]


def test_pages_are_in_danish_and_icelandic(client, ctx):
    voter, poll = setup_poll()
    login(client, "voter@example.org")
    for lang in ("da", "is"):
        client.set_cookie("lang", lang)
        html = client.get(f"/polls/{poll.id}").get_data(as_text=True)
        assert f'lang="{lang}"' in html


def test_my_page_counts_the_open_polls_waiting_for_my_vote(client, ctx):
    voter = make_user("voter@example.org")
    done = make_poll(title="Done", questions=QUESTIONS)
    make_poll(title="Waiting", questions=QUESTIONS)
    make_poll(title="Closed", questions=QUESTIONS, status="closed")
    cast(done, voter, {})
    db.session.commit()
    login(client, "voter@example.org")
    html = client.get("/account").get_data(as_text=True)
    assert 'data-polls-waiting="1"' in html and "1 open poll is waiting for your vote." in html


def test_a_polls_pages_read_the_same_statements_for_three_questions_or_twelve(app, ctx):
    voters = [make_user(f"q{n}@example.org") for n in range(3)]
    make_user("staff@example.org", roles=["admin"])
    counts = []
    for sets in (1, 4):
        questions = [(f"{text} {n}", *rest) for n in range(sets) for text, *rest in QUESTIONS]
        poll = make_poll(title=f"{sets} sets", questions=questions, results_mode="live")
        for voter in voters:
            answers = {}
            for question in poll.questions:
                picks = [o.id for o in question.options][: 2 if question.kind != "yes_no" else 1]
                answers[str(question.id)] = picks
            cast(poll, voter, answers)
        db.session.commit()
        pages = [
            (voters[0].email, f"/polls/{poll.id}/results"),
            (voters[0].email, f"/polls/{poll.id}/results.json"),
        ]
        pages += [
            ("staff@example.org", f"/polls/{poll.id}"),
            ("staff@example.org", f"/staff/polls/{poll.id}/results"),
        ]
        seen = []
        for email, url in pages:
            client = app.test_client()
            login(client, email)
            seen.append(statements_of(app, client, url))
        counts.append(seen)
    assert counts[0] == counts[1], counts
