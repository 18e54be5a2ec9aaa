"""The polls API: list, create (role membership), read, open, close, cast a ballot, results.

A ballot is cast with the voter's own token; its answer holds the receipt, shown this once.
Staff (role membership; admins) see every poll; others see the polls they may vote in and the
published ones.
"""

from __future__ import annotations

from datetime import datetime

from flask import g, jsonify
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.api.auth import token_required
from app.api.routes import bp, json_body, page_params, page_response
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

RESULTS_KEYS = ("after_close", "live")


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


@bp.get("/polls")
@token_required()
def polls_list():
    limit, offset = page_params()
    user = g.api_user
    stmt = select(Poll)
    if not is_poll_staff(user):
        mine = select(Elector.poll_id).where(Elector.user_id == user.id)
        stmt = stmt.where(
            (Poll.status == "published") | (Poll.status.in_(("open", "closed")) & Poll.id.in_(mine))
        )
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(Poll.id.desc()).limit(limit).offset(offset)).all()
    voted = ballots.voted_poll_ids(user, [p.id for p in rows])
    return page_response([poll_json(p, p.id in voted) for p in rows], count, limit, offset)


def _text(data: dict, name: str, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise DomainError(_("Give a text."), field=name)
    return value


def _bool(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise DomainError(_("Give true or false."), field=name)
    return value


def _int(data: dict, name: str, default: int | None, field: str | None = None) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise DomainError(_("Give a whole number above 0."), field=field or name)
    return value


def _time(data: dict, name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise DomainError(_("Give an ISO 8601 time with a timezone."), field=name)
    return parsed


def _fields(data: dict) -> setup.PollFields:
    electorate = data.get("electorate", {"kind": "members"})
    if not isinstance(electorate, dict):
        raise DomainError(_("The electorate is an object."), field="electorate")
    kind = electorate.get("kind", "members")
    group_id = None
    if kind == "group":
        slug = electorate.get("group")
        group_id = db.session.scalar(select(Group.id).where(Group.slug == slug)) if slug else None
        if not isinstance(slug, str) or group_id is None:
            raise DomainError(_("No group with that slug."), field="electorate.group")
    event_id = (
        _int(electorate, "event_id", None, "electorate.event_id") if kind == "event" else None
    )
    results = data.get("results", "after_close")
    if results not in RESULTS_KEYS:
        raise DomainError(_("Give after_close or live."), field="results")
    return setup.PollFields(
        title=_text(data, "title", required=True),
        description=_text(data, "description"),
        secret=_bool(data, "secret", True),
        results_mode=results,
        may_change_vote=_bool(data, "may_change_vote", False),
        electorate_kind=kind if isinstance(kind, str) else "",
        group_id=group_id,
        event_id=event_id,
        reminder_hours_before=_int(data, "reminder_hours_before", None),
        opens_at=_time(data, "opens_at"),
        closes_at=_time(data, "closes_at"),
    )


def _questions(data: dict) -> list[setup.QuestionFields]:
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        raise DomainError(_("Give at least one question."), field="questions")
    questions = []
    for index, item in enumerate(raw):
        where = f"questions.{index}"
        if not isinstance(item, dict):
            raise DomainError(_("A question is an object."), field=where)
        options = item.get("options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise DomainError(_("The options are a list of texts."), field=f"{where}.options")
        questions.append(
            setup.QuestionFields(
                text=_text(item, "text", required=True),
                kind=item.get("kind", "single") if isinstance(item.get("kind"), str) else "",
                max_choices=_int(item, "max_choices", 1, f"{where}.max_choices") or 1,
                seats=_int(item, "seats", 1, f"{where}.seats") or 1,
                options=options,
            )
        )
    return questions


@bp.post("/polls")
@token_required("membership")
def polls_create():
    """Create a poll with its questions; with both times given it is scheduled to open."""
    data = json_body()
    try:
        poll = setup.create_poll(_fields(data), _questions(data), g.api_user)
        if poll.opens_at is not None and poll.closes_at is not None:
            setup.schedule(poll)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    response = jsonify(poll_json(poll, False))
    response.status_code = 201
    return response


@bp.get("/polls/<int:poll_id>")
@token_required()
def poll_get(poll_id: int):
    poll = _visible(poll_id)
    return jsonify(poll_json(poll, _voted(poll)))


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
    return jsonify(poll_json(poll, _voted(poll)))


@bp.post("/polls/<int:poll_id>/open")
@token_required("membership")
def poll_open(poll_id: int):
    return _staff_action(poll_id, lambda poll: setup.open_poll(poll, g.api_user.id))


@bp.post("/polls/<int:poll_id>/close")
@token_required("membership")
def poll_close(poll_id: int):
    return _staff_action(poll_id, lambda poll: setup.close_poll(poll, g.api_user.id))


@bp.post("/polls/<int:poll_id>/ballots")
@token_required()
def poll_ballot(poll_id: int):
    """Cast the caller's ballot; the receipt is in this answer only (never stored or logged)."""
    # The questions and options in one query each: validating the ballot reads them all.
    loaded = [selectinload(Poll.questions).selectinload(PollQuestion.options)]
    poll = db.session.get(Poll, poll_id, options=loaded) if 0 < poll_id <= MAX_ID else None
    if poll is None:
        raise NotFound(_("No such poll."))
    answers = json_body().get("answers")
    if not isinstance(answers, dict):
        raise ballots.InvalidBallot(_("Give the answers as an object."), field="answers")
    try:
        receipt = ballots.cast(poll, g.api_user, answers)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    response = jsonify({"receipt": receipt})
    response.status_code = 201
    return response


@bp.get("/polls/<int:poll_id>/results")
@token_required()
def poll_results_get(poll_id: int):
    poll = _visible(poll_id)
    if not results_visible(poll, g.api_user):
        raise Forbidden(_("The results of this poll are not published yet."))
    return jsonify(poll_results(poll))
