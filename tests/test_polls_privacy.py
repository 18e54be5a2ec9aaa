"""My data export lists the polls I took part in; anonymising a person unlinks their votes."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.jobs import commit
from app.extensions import db
from app.members import privacy
from app.polls.ballots import cast
from app.polls.models import Ballot, Elector, Participation
from app.polls.tally import poll_results
from tests.factories import make_poll, make_user
from tests.helpers import login
from tests.members_helpers import make_member

QUESTIONS = (("Chair", "single", ("Ada", "Bo"), 1, 1),)


def test_data_export_lists_my_polls_and_open_answers_only(client, ctx):
    me = make_user("me@example.org")
    secret = make_poll(title="Secret vote", questions=QUESTIONS)
    open_poll = make_poll(title="Open vote", questions=QUESTIONS, secret=False)
    make_poll(title="Not voted", questions=QUESTIONS)
    cast(secret, me, {str(secret.questions[0].id): [secret.questions[0].options[1].id]})
    cast(open_poll, me, {str(open_poll.questions[0].id): [open_poll.questions[0].options[0].id]})
    db.session.commit()
    login(client, "me@example.org")
    data = client.get("/account/data.json").get_json()
    assert [p["title"] for p in data["polls_voted_in"]] == ["Secret vote", "Open vote"]
    assert [p["title"] for p in data["polls_eligible"]] == ["Secret vote", "Open vote", "Not voted"]
    # Only the open ballot's answers: a secret ballot is linked to nobody, so not to me.
    assert data["poll_answers"] == [
        {
            "poll_id": open_poll.id,
            "question_id": open_poll.questions[0].id,
            "question": "Chair",
            "options": ["Ada"],
        }
    ]
    assert data["polls_created"] == []


def test_anonymising_unlinks_participation_and_open_ballots_but_keeps_the_count(ctx):
    staff = make_user("privacy@example.org", roles=["membership"])
    leaving = make_member(make_user("leaving@example.org", "Lone Leaving"))
    other = make_user("stays@example.org")
    secret = make_poll(title="Secret", questions=QUESTIONS)
    open_poll = make_poll(title="Open", questions=QUESTIONS, secret=False)
    for poll in (secret, open_poll):
        ada = poll.questions[0].options[0].id
        cast(poll, leaving.user, {str(poll.questions[0].id): [ada]})
        cast(poll, other, {str(poll.questions[0].id): [ada]})
    commit()
    user_id = leaving.user_id

    privacy.anonymise(leaving, staff.id)
    commit()

    def linked(model):
        return db.session.scalar(
            select(func.count()).select_from(model).where(model.user_id == user_id)
        )

    assert linked(Participation) == linked(Elector) == linked(Ballot) == 0
    for poll in (secret, open_poll):
        results = poll_results(poll)
        assert results["voted"] == 2 and results["questions"][0]["options"][0]["votes"] == 2
