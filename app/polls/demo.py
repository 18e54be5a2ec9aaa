"""Demo polls: one open poll (every verified user, live results) and a closed board election
with ranked results, counted from real ballots cast through the voting service."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.core.timeutil import utcnow
from app.extensions import db
from app.models import Elector, User
from app.polls import setup
from app.polls.ballots import cast
from app.polls.electorate import freeze_electorate
from app.polls.models import Poll

CANDIDATES = ["Guðrún Jónsdóttir", "Søren Nielsen", "Þóra Einarsdóttir", "Mads Kjær",
              "Helga Ólafsdóttir", "Ida Møller"]  # fmt: skip


def _open_quietly(poll: Poll, opened_days_ago: int) -> None:
    """Open without the opening e-mails (demo people have no real inboxes)."""
    poll.status = "open"
    poll.opened_at = utcnow() - timedelta(days=opened_days_ago)
    poll.opens_at = poll.opened_at
    freeze_electorate(poll)


def _electors(poll: Poll) -> list[User]:
    return list(
        db.session.scalars(
            select(User).join(Elector, Elector.user_id == User.id).where(Elector.poll_id == poll.id)
        )
    )


def seed_polls(staff_user) -> list[Poll]:
    """Add the demo polls; returns them (the open one first)."""
    rng = random.Random(14)
    now = utcnow().replace(microsecond=0)

    summer = setup.create_poll(
        setup.PollFields(
            title="Sommerfest: hvilken dag? / Sumarhátíð: hvaða dag?",
            description="Vælg den dag, der passer dig bedst. / Veldu daginn sem hentar þér best.",
            secret=True,
            results_mode="live",
            electorate_kind="users",
            reminder_hours_before=24,
            closes_at=now + timedelta(days=5),
        ),
        [
            setup.QuestionFields(
                "Hvilken dag? / Hvaða dag?",
                "single",
                options=["Fredag / Föstudagur", "Lørdag / Laugardagur", "Søndag / Sunnudagur"],
            ),
            setup.QuestionFields("Grill? / Grill?", "yes_no"),
        ],
        staff_user,
    )
    _open_quietly(summer, opened_days_ago=2)
    day, grill = summer.questions
    for user in _electors(summer)[::3]:
        cast(
            summer,
            user,
            {
                str(day.id): [rng.choice(day.options).id],
                str(grill.id): [rng.choice(grill.options[:2]).id],
            },
        )

    election = setup.create_poll(
        setup.PollFields(
            title="Bestyrelsesvalg 2026 / Stjórnarkjör 2026",
            description="Ranger kandidaterne. Tre pladser. / Raðaðu frambjóðendum. Þrjú sæti.",
            secret=True,
            results_mode="after_close",
            electorate_kind="members",
            closes_at=now + timedelta(days=1),
        ),
        [
            setup.QuestionFields(
                "Bestyrelse / Stjórn", "ranked", seats=3, options=list(CANDIDATES)
            ),
            setup.QuestionFields("Godkend regnskabet / Samþykkja reikninga", "yes_no"),
        ],
        staff_user,
    )
    _open_quietly(election, opened_days_ago=14)
    board, accounts = election.questions
    # Two slates with some crossing over, so the count takes several rounds with transfers.
    slates = [[0, 2, 4, 1, 3, 5], [1, 3, 5, 0, 2, 4], [2, 0, 1, 4], [3, 1]]
    for user in _electors(election)[: max(1, len(_electors(election)) * 4 // 5)]:
        order = list(rng.choice(slates))
        if rng.random() < 0.3:
            rng.shuffle(order)
        ranking = [board.options[i].id for i in order[: rng.randint(2, len(order))]]
        yes, no, abstain = accounts.options
        cast(
            election,
            user,
            {
                str(board.id): ranking,
                str(accounts.id): [rng.choices([yes, no, abstain], [8, 1, 1])[0].id],
            },
        )
    setup.close_poll(election, staff_user.id)
    setup.publish_results(election)
    election.closed_at = election.closes_at = now - timedelta(days=7)
    election.published_at = now - timedelta(days=6)
    db.session.flush()
    return [summer, election]
