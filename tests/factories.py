"""Factories for test data."""

from __future__ import annotations

import itertools

from app.auth.models import User
from app.auth.services import create_user
from app.extensions import db
from tests.helpers import PASSWORD

_seq = itertools.count(1)


def make_user(
    email: str | None = None,
    name: str | None = None,
    roles=(),
    verified=True,
    locale: str = "en",
    password: str = PASSWORD,
) -> User:
    """A user, flushed; roles are staff roles."""
    n = next(_seq)
    user = create_user(
        email or f"user{n}@example.org",
        name or f"Test Person {n}",
        password,
        list(roles),
        verified,
        locale,
        check_password=False,
    )
    db.session.flush()
    return user


def make_event(
    title: str = "Members' evening",
    capacity: int | None = 50,
    days_ahead: int = 7,
    status: str = "published",
    **fields,
):
    """An event with its own signing key, starting in days_ahead days, lasting two hours."""
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.events.models import Event
    from app.events.tickets import new_key_pair

    private, public = new_key_pair()
    starts = utcnow().replace(microsecond=0) + timedelta(days=days_ahead)
    values = {
        "title": title,
        "slug": title.lower().replace(" ", "-").replace("'", ""),
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "capacity": capacity,
        "status": status,
        "published_at": utcnow() if status == "published" else None,
        "signing_key_encrypted": private,
        "public_key": public,
        "venue_name": "Folkets Hus",
        "city": "København",
        **fields,
    }
    event = Event(**values)
    db.session.add(event)
    db.session.flush()
    return event


def make_registration(event, user=None, state: str = "confirmed", **fields):
    """A registration; a confirmed one takes a seat and gets a signed ticket code."""
    from app.core.timeutil import utcnow
    from app.events.models import Registration
    from app.events.tickets import make_code

    user = user or make_user()
    registration = Registration(
        event_id=event.id, user_id=user.id, name=user.name, email=user.email, state=state, **fields
    )
    if state == "confirmed":
        registration.confirmed_at = utcnow()
        registration.ticket_code = make_code(event.id, event.signing_key_encrypted)
        event.confirmed_count += 1
    elif state == "waiting":
        registration.waiting_since = utcnow()
    db.session.add(registration)
    db.session.flush()
    return registration


def make_poll(
    title: str = "Board election",
    questions=(("Do you approve the accounts?", "yes_no", (), 1, 1),),
    status: str = "open",
    secret: bool = True,
    electorate_kind: str = "users",
    **fields,
):
    """A poll with questions (text, kind, options, max_choices, seats); opened (electorate frozen)
    when status is open, closing in a day."""
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.polls.electorate import freeze_electorate
    from app.polls.models import Poll, PollOption, PollQuestion

    now = utcnow().replace(microsecond=0)
    poll = Poll(
        title=title,
        description="",
        status="draft",
        secret=secret,
        electorate_kind=electorate_kind,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        **fields,
    )
    for position, (text, kind, options, max_choices, seats) in enumerate(questions):
        question = PollQuestion(
            position=position, text=text, kind=kind, max_choices=max_choices, seats=seats
        )
        if kind == "yes_no":
            question.add_yes_no_options()
        else:
            question.options = [
                PollOption(position=n, text=option) for n, option in enumerate(options)
            ]
        poll.questions.append(question)
    db.session.add(poll)
    db.session.flush()
    if status in ("open", "closed", "published"):
        poll.status = "open"
        poll.opened_at = now - timedelta(hours=1)
        freeze_electorate(poll)
    poll.status = status
    db.session.flush()
    return poll
