"""The polls API: list, create (role membership), read, open, close, cast a ballot, results.

A ballot is cast with the voter's own token; its answer holds the receipt, shown this once.
Staff (role membership; admins) see every poll; others see the polls they may vote in and the
published ones.
"""

from __future__ import annotations

from datetime import datetime

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.api.auth import token_required
from app.api.poll_schemas import (
    BallotIn,
    PollCreate,
    PollSchema,
    ReceiptSchema,
    ResultsSchema,
)
from app.api.routes import bp
from app.api.schemas import PageArgs, page, page_of
from app.api.spec import errors
from app.core.errors import DomainError, Forbidden, NotFound
from app.core.jobs import commit
from app.core.security import MAX_ID
from app.extensions import db
from app.models import Group
from app.polls import ballots, setup
from app.polls.access import is_poll_staff, results_visible
from app.polls.electorate import eligible
from app.polls.models import Elector, Poll, PollQuestion
from app.polls.tally import poll_results


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def poll_json(poll: Poll, voted: bool | None = None) -> dict:
    """A poll as the API shows it, with its questions and options (and their ids)."""
    return {
        "id": poll.id,
        "title": poll.title,
        "description": poll.description,
        "status": poll.status,
        "secret": poll.secret,
        "results": poll.results_mode,
        "may_change_vote": poll.may_change_vote,
        "reminder_hours_before": poll.reminder_hours_before,
        "electorate": {
            "kind": poll.electorate_kind,
            "group": poll.group.slug if poll.group is not None else None,
            "event_id": poll.event_id,
            "size": poll.electorate_size if poll.opened_at else None,
        },
        "opens_at": _iso(poll.opens_at),
        "closes_at": _iso(poll.closes_at),
        "opened_at": _iso(poll.opened_at),
        "closed_at": _iso(poll.closed_at),
        "published_at": _iso(poll.published_at),
        "voted": voted,
        "questions": [
            {
                "id": q.id,
                "text": q.text,
                "kind": q.kind,
                "max_choices": q.max_choices,
                "seats": q.seats,
                "options": [{"id": o.id, "text": o.text, "value": o.value} for o in q.options],
            }
            for q in poll.questions
        ],
    }


def _visible(poll_id: int) -> Poll:
    """The poll, if the caller may see it: staff any; others in its electorate or published."""
    poll = db.session.get(Poll, poll_id) if 0 < poll_id <= MAX_ID else None
    user = g.api_user
    if poll is None or not (
        is_poll_staff(user)
        or poll.status == "published"
        or (poll.status in ("open", "closed") and eligible(poll, user))
    ):
        raise NotFound(_("No such poll."))
    return poll


def _voted(poll: Poll) -> bool:
    return ballots.has_voted(poll, g.api_user)


@bp.get("/polls", tags=["polls"])
@token_required()
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(PollSchema))
def polls_list(limit: int, offset: int):
    """Polls: staff see all; others those they may vote in and published ones."""
    user = g.api_user
    stmt = select(Poll)
    if not is_poll_staff(user):
        mine = select(Elector.poll_id).where(Elector.user_id == user.id)
        stmt = stmt.where(
            (Poll.status == "published") | (Poll.status.in_(("open", "closed")) & Poll.id.in_(mine))
        )
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    # Each poll is shown with its group, questions and options: loaded for the page at once.
    shown = (joinedload(Poll.group), selectinload(Poll.questions))
    rows = db.session.scalars(
        stmt.options(*shown).order_by(Poll.id.desc()).limit(limit).offset(offset)
    ).all()
    voted = ballots.voted_poll_ids(user, [p.id for p in rows])
    return page([poll_json(p, p.id in voted) for p in rows], count, limit, offset)


def _fields(data: dict) -> setup.PollFields:
    electorate = data["electorate"]
    kind = electorate["kind"]
    group_id = None
    if kind == "group":
        slug = electorate.get("group")
        group_id = db.session.scalar(select(Group.id).where(Group.slug == slug)) if slug else None
        if group_id is None:
            raise DomainError(_("No group with that slug."), field="electorate.group")
    return setup.PollFields(
        title=data["title"],
        description=data["description"] or "",
        secret=data["secret"],
        results_mode=data["results"],
        may_change_vote=data["may_change_vote"],
        electorate_kind=kind,
        group_id=group_id,
        event_id=electorate.get("event_id") if kind == "event" else None,
        reminder_hours_before=data["reminder_hours_before"],
        opens_at=data["opens_at"],
        closes_at=data["closes_at"],
    )


@bp.post("/polls", tags=["polls"])
@token_required("membership")
@bp.arguments(PollCreate)
@bp.response(201, PollSchema, description="The poll, as GET shows it")
def polls_create(data: dict):
    """Create a poll with its questions; with both times given it is scheduled to open."""
    questions = [setup.QuestionFields(**question) for question in data["questions"]]
    try:
        poll = setup.create_poll(_fields(data), questions, g.api_user)
        if poll.opens_at is not None and poll.closes_at is not None:
            setup.schedule(poll)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return poll_json(poll, False)


@bp.get("/polls/<int:poll_id>", tags=["polls"])
@token_required()
@errors(404)
@bp.response(200, PollSchema)
def poll_get(poll_id: int):
    """One poll (404 when the caller may not see it)."""
    poll = _visible(poll_id)
    return poll_json(poll, _voted(poll))


def _staff_action(poll_id: int, action):
    poll = db.session.get(Poll, poll_id) if 0 < poll_id <= MAX_ID else None
    if poll is None:
        raise NotFound(_("No such poll."))
    try:
        action(poll)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return poll_json(poll, _voted(poll))


@bp.post("/polls/<int:poll_id>/open", tags=["polls"])
@token_required("membership")
@errors(404, 409)
@bp.response(200, PollSchema)
def poll_open(poll_id: int):
    """Open voting now: fixes the electorate and e-mails it (409 when its state does not allow)."""
    return _staff_action(poll_id, lambda poll: setup.open_poll(poll, g.api_user.id))


@bp.post("/polls/<int:poll_id>/close", tags=["polls"])
@token_required("membership")
@errors(404, 409)
@bp.response(200, PollSchema)
def poll_close(poll_id: int):
    """Close voting now (409 when the poll is not open)."""
    return _staff_action(poll_id, lambda poll: setup.close_poll(poll, g.api_user.id))


@bp.post("/polls/<int:poll_id>/ballots", tags=["polls"])
@token_required()
@errors(403, 404, 409)
@bp.arguments(BallotIn)
@bp.response(201, ReceiptSchema, description="Counted")
def poll_ballot(data: dict, poll_id: int):
    """Cast the caller's ballot; the receipt is in this answer only (never stored or logged)."""
    # The questions and options in one query each: validating the ballot reads them all.
    loaded = [selectinload(Poll.questions).selectinload(PollQuestion.options)]
    poll = db.session.get(Poll, poll_id, options=loaded) if 0 < poll_id <= MAX_ID else None
    if poll is None:
        raise NotFound(_("No such poll."))
    try:
        receipt = ballots.cast(poll, g.api_user, data["answers"])
    except DomainError:
        db.session.rollback()
        raise
    commit()
    return {"receipt": receipt}


@bp.get("/polls/<int:poll_id>/results", tags=["polls"])
@token_required()
@errors(403, 404)
@bp.response(200, ResultsSchema)
def poll_results_get(poll_id: int):
    """A poll's results (403 until they are published for people who are not staff)."""
    poll = _visible(poll_id)
    if not results_visible(poll, g.api_user):
        raise Forbidden(_("The results of this poll are not published yet."))
    return poll_results(poll)
