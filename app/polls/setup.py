"""Setting polls up (staff and API): questions and options, schedule, open, close, publish.

Options change only until a poll opens. Every change of state is a conditional UPDATE on the
poll's status (so that the clock and a person pressing "open" at once open it once) and goes into
the audit log. Opening fixes the electorate and asks for the e-mails to every eligible person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.core import audit
from app.core.errors import Conflict, DomainError
from app.core.jobs import enqueue_after_commit
from app.core.timeutil import utcnow
from app.extensions import db
from app.polls.mails import send_opening_mails
from app.polls.models import (
    ELECTORATE_KINDS,
    QUESTION_KINDS,
    RESULTS_MODES,
    Poll,
    PollOption,
    PollQuestion,
)
from app.webhooks.services import emit

MAX_OPTIONS = 100
MAX_QUESTIONS = 50


@dataclass
class QuestionFields:
    """A question as staff or the API give it; options are texts (ignored for yes/no)."""

    text: str
    kind: str = "single"
    max_choices: int = 1
    seats: int = 1
    options: list[str] = field(default_factory=list)


@dataclass
class PollFields:
    """A poll's settings as staff or the API give them."""

    title: str
    description: str = ""
    secret: bool = True
    results_mode: str = "after_close"
    may_change_vote: bool = False
    electorate_kind: str = "members"
    group_id: int | None = None
    event_id: int | None = None
    reminder_hours_before: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None

    @classmethod
    def from_poll(cls, poll: Poll) -> PollFields:
        """The fields of a stored poll (to fill the edit form)."""
        return cls(**{name: getattr(poll, name) for name in cls.__dataclass_fields__})


# Settings that may still change while a poll is open; the rest are fixed when it opens.
OPEN_EDITABLE = ("title", "description", "closes_at", "reminder_hours_before")


def _snapshot(poll: Poll) -> dict:
    values = {name: getattr(poll, name) for name in PollFields.__dataclass_fields__}
    for name in ("opens_at", "closes_at"):
        values[name] = values[name].isoformat() if values[name] else None
    return values


def _check_fields(fields: PollFields) -> None:
    if not (fields.title or "").strip():
        raise DomainError(_l("Give the poll a title."), field="title")
    if len(fields.title.strip()) > 200:
        raise DomainError(_l("The title is too long (200 characters at most)."), field="title")
    if fields.results_mode not in RESULTS_MODES:
        raise DomainError(_l("Choose when results are shown."), field="results_mode")
    if fields.electorate_kind not in ELECTORATE_KINDS:
        raise DomainError(_l("Choose who may vote."), field="electorate_kind")
    if fields.secret and fields.may_change_vote:
        raise DomainError(
            _l("Only open ballots can be changed; a secret ballot is final."),
            field="may_change_vote",
        )
    if fields.electorate_kind == "group" and not fields.group_id:
        raise DomainError(_l("Choose the group whose members may vote."), field="group_id")
    if fields.electorate_kind == "event" and not fields.event_id:
        raise DomainError(_l("Choose the event whose confirmed guests may vote."), field="event_id")
    if fields.group_id is not None and fields.electorate_kind == "group":
        from app.models import Group

        if db.session.get(Group, fields.group_id) is None:
            raise DomainError(_l("No such group."), field="group_id")
    if fields.event_id is not None and fields.electorate_kind == "event":
        from app.models import Event

        if db.session.get(Event, fields.event_id) is None:
            raise DomainError(_l("No such event."), field="event_id")
    if fields.reminder_hours_before is not None and not 0 < fields.reminder_hours_before <= 24 * 60:
        raise DomainError(
            _l("The reminder goes between 1 hour and 60 days before closing."),
            field="reminder_hours_before",
        )
    for name in ("opens_at", "closes_at"):
        value = getattr(fields, name)
        if value is not None and value.tzinfo is None:
            raise DomainError(_l("Give the time with a timezone."), field=name)
    if fields.opens_at and fields.closes_at and fields.closes_at <= fields.opens_at:
        raise DomainError(_l("Voting must close after it opens."), field="closes_at")


def _apply(poll: Poll, fields: PollFields, names) -> None:
    for name in names:
        setattr(poll, name, getattr(fields, name))
    poll.title = poll.title.strip()
    poll.description = (poll.description or "").strip()
    if poll.electorate_kind != "group":
        poll.group_id = None
    if poll.electorate_kind != "event":
        poll.event_id = None


def _check_question(q: QuestionFields) -> list[str]:
    """The question's cleaned option texts (none for yes/no); DomainError when it is not right."""
    if not (q.text or "").strip():
        raise DomainError(_l("Write the question."), field="text")
    if len(q.text.strip()) > 500:
        raise DomainError(_l("The question is too long (500 characters at most)."), field="text")
    if q.kind not in QUESTION_KINDS:
        raise DomainError(_l("Choose the kind of question."), field="kind")
    if q.kind == "yes_no":
        return []
    options = [str(text).strip() for text in q.options if str(text).strip()]
    if len(options) < 2:
        raise DomainError(_l("Give at least two options."), field="options")
    if len(options) > MAX_OPTIONS:
        raise DomainError(_l("At most 100 options."), field="options")
    if any(len(text) > 300 for text in options):
        raise DomainError(_l("An option is too long (300 characters at most)."), field="options")
    if len({text.casefold() for text in options}) != len(options):
        raise DomainError(_l("Two options have the same text."), field="options")
    if q.kind == "multiple" and not 1 <= q.max_choices <= len(options):
        raise DomainError(
            _l("The most choices must be between 1 and the number of options."),
            field="max_choices",
        )
    if q.kind == "ranked" and not 1 <= q.seats < len(options):
        raise DomainError(
            _l("The seats must be at least 1 and fewer than the candidates."), field="seats"
        )
    return options


def _fill_question(question: PollQuestion, q: QuestionFields, options: list[str]) -> None:
    question.text = q.text.strip()
    question.kind = q.kind
    question.max_choices = q.max_choices if q.kind == "multiple" else 1
    question.seats = q.seats if q.kind == "ranked" else 1
    question.options.clear()
    db.session.flush()  # the old options go before the new ones are numbered
    if q.kind == "yes_no":
        question.add_yes_no_options()
    else:
        question.options.extend(PollOption(position=n, text=text) for n, text in enumerate(options))


def _lock_status(poll: Poll) -> str:
    """The poll's status, with its row locked until the commit: an edit and an opening at the
    same moment take turns, so an edit never lands on a poll that has just opened."""
    return db.session.scalar(select(Poll.status).where(Poll.id == poll.id).with_for_update())


def _require_editable(poll: Poll) -> None:
    if _lock_status(poll) not in ("draft", "scheduled"):
        raise Conflict(_l("Questions and options cannot change once the poll has opened."))


def create_poll(fields: PollFields, questions: list[QuestionFields], actor=None) -> Poll:
    """A new poll in draft with its questions."""
    _check_fields(fields)
    if len(questions) > MAX_QUESTIONS:
        raise DomainError(_l("At most 50 questions."), field="questions")
    checked = []
    for index, q in enumerate(questions):
        try:
            checked.append(_check_question(q))
        except DomainError as exc:
            exc.field = f"questions.{index}.{exc.field}" if exc.field else f"questions.{index}"
            raise
    poll = Poll(status="draft", created_by_id=getattr(actor, "id", None))
    _apply(poll, fields, PollFields.__dataclass_fields__)
    db.session.add(poll)
    for position, (q, options) in enumerate(zip(questions, checked, strict=True)):
        question = PollQuestion(position=position)
        poll.questions.append(question)
        _fill_question(question, q, options)
    db.session.flush()
    audit.record("poll.created", "poll", poll.id, after=_snapshot(poll))
    return poll


def update_poll(poll: Poll, fields: PollFields) -> None:
    """Change a poll's settings: all of them before it opens, only a few while it is open."""
    status = _lock_status(poll)
    if status in ("closed", "published"):
        raise Conflict(_l("A closed poll cannot be changed."))
    _check_fields(fields)
    before = _snapshot(poll)
    if status in ("draft", "scheduled"):
        _apply(poll, fields, PollFields.__dataclass_fields__)
    else:
        # The electorate, secrecy and kinds are fixed once open: only these can change.
        if fields.closes_at is not None and fields.closes_at <= utcnow():
            raise DomainError(
                _l("The closing time is in the past. Close the poll instead."), field="closes_at"
            )
        _apply(poll, fields, OPEN_EDITABLE)
    db.session.flush()
    after = _snapshot(poll)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit.record(
            "poll.updated",
            "poll",
            poll.id,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )


def add_question(poll: Poll, q: QuestionFields) -> PollQuestion:
    """Add a question at the end (only before the poll opens)."""
    _require_editable(poll)
    options = _check_question(q)
    if len(poll.questions) >= MAX_QUESTIONS:
        raise DomainError(_l("At most 50 questions."))
    question = PollQuestion(position=max((x.position for x in poll.questions), default=-1) + 1)
    poll.questions.append(question)
    _fill_question(question, q, options)
    db.session.flush()
    audit.record("poll.question_added", "poll", poll.id, after={"question_id": question.id})
    return question


def update_question(question: PollQuestion, q: QuestionFields) -> None:
    """Change a question and its options (only before the poll opens)."""
    _require_editable(question.poll)
    options = _check_question(q)
    before = {"text": question.text, "kind": question.kind, "options": _texts(question)}
    _fill_question(question, q, options)
    db.session.flush()
    audit.record(
        "poll.question_changed",
        "poll",
        question.poll_id,
        before={"question_id": question.id, **before},
        after={"question_id": question.id, "text": question.text, "kind": question.kind,
               "options": _texts(question)},
    )  # fmt: skip


def _texts(question: PollQuestion) -> list[str]:
    return [option.text for option in question.options]


def delete_question(question: PollQuestion) -> None:
    """Remove a question (only before the poll opens)."""
    poll = question.poll
    _require_editable(poll)
    audit.record(
        "poll.question_removed", "poll", poll.id, before={"question_id": question.id,
                                                          "text": question.text},
    )  # fmt: skip
    poll.questions.remove(question)
    db.session.flush()


def _check_ready(poll: Poll, now: datetime) -> None:
    """A poll can open when it has questions and, if it has a closing time, that is ahead."""
    if not poll.questions:
        raise DomainError(_l("Add at least one question first."))
    if poll.closes_at is not None and poll.closes_at <= now:
        raise DomainError(_l("The closing time has passed. Set a later one."), field="closes_at")


def _move(poll: Poll, from_states: tuple[str, ...], **values) -> bool:
    """Change the poll's status if it is in one of from_states; False when it is not (anymore)."""
    changed = db.session.execute(
        update(Poll)
        .where(Poll.id == poll.id, Poll.status.in_(from_states))
        .values(**values, updated_at=utcnow())
        .returning(Poll.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.refresh(poll)
    return changed is not None


def schedule(poll: Poll) -> None:
    """Draft -> scheduled: it opens at opens_at (by the clock) and closes at closes_at."""
    now = utcnow()
    if poll.status == "scheduled":
        return
    if poll.opens_at is None or poll.closes_at is None:
        raise DomainError(_l("Set when voting opens and closes first."), field="opens_at")
    _check_ready(poll, now)
    if not _move(poll, ("draft",), status="scheduled"):
        raise Conflict(_l("Only a draft can be scheduled."))
    audit.record("poll.scheduled", "poll", poll.id, after={"opens_at": poll.opens_at.isoformat()})
    if poll.opens_at <= now:  # its time has come already: open it now, not at the next tick
        open_poll(poll)


def unschedule(poll: Poll) -> None:
    """Scheduled -> draft (it will not open by itself)."""
    if not _move(poll, ("scheduled",), status="draft"):
        raise Conflict(_l("Only a scheduled poll can go back to draft."))
    audit.record("poll.unscheduled", "poll", poll.id)


def open_poll(poll: Poll, actor_id: int | None = None) -> int:
    """Open for voting now: fix the electorate and e-mail it; returns the electorate's size.

    Opening twice at once (the clock and a person) opens once; the second is refused.
    """
    now = utcnow()
    if poll.status == "open":
        raise Conflict(_l("The poll is open already."))
    _check_ready(poll, now)
    if not _move(poll, ("draft", "scheduled"), status="open", opened_at=now):
        raise Conflict(_l("Only a draft or a scheduled poll can be opened."))
    from app.polls.electorate import freeze_electorate

    if poll.opens_at is None or poll.opens_at > now:
        poll.opens_at = now  # opened early by hand: the record says when it really opened
    size = freeze_electorate(poll)
    audit.record("poll.opened", "poll", poll.id, after={"electorate": size}, actor_id=actor_id)
    enqueue_after_commit(send_opening_mails, poll.id, queue="mail")
    return size


def close_poll(poll: Poll, actor_id: int | None = None) -> None:
    """Close voting now. A ballot being cast holds the poll's row: closing waits for it."""
    now = utcnow()
    if not _move(poll, ("open",), status="closed", closed_at=now):
        raise Conflict(_l("Only an open poll can be closed."))
    if poll.closes_at is None or poll.closes_at > now:
        poll.closes_at = now  # closed early: the record says when it really closed
    from app.polls.ballots import mix_ballots

    mix_ballots(poll)  # secret ballots: rewritten in random order, unlinked from the voting order
    db.session.flush()
    audit.record("poll.closed", "poll", poll.id, actor_id=actor_id)
    emit("poll.closed", {"poll_id": poll.id, "closed_at": now.isoformat()})


def publish_results(poll: Poll) -> None:
    """Closed -> published: everyone who may see the poll sees its results."""
    if not _move(poll, ("closed",), status="published", published_at=utcnow()):
        raise Conflict(_l("Results can be published once the poll is closed."))
    audit.record("poll.published", "poll", poll.id)


def electorate_size(poll: Poll) -> int:
    """The fixed electorate's size once open; before that, how many the rule admits now."""
    from app.polls.electorate import is_frozen, preview_size

    return poll.electorate_size if is_frozen(poll) else preview_size(poll)


# --- the clock ---------------------------------------------------------------------------------


def due_to_open(now: datetime) -> list[int]:
    """Scheduled polls whose opening time has come."""
    return list(
        db.session.scalars(
            select(Poll.id)
            .where(Poll.status == "scheduled", Poll.opens_at <= now)
            .order_by(Poll.id)
        )
    )


def due_to_close(now: datetime) -> list[int]:
    """Open polls whose closing time has passed."""
    return list(
        db.session.scalars(
            select(Poll.id).where(Poll.status == "open", Poll.closes_at <= now).order_by(Poll.id)
        )
    )


def due_for_reminder(now: datetime) -> list[int]:
    """Open polls whose reminder time has come and whose reminder has not gone yet."""
    rows = db.session.execute(
        select(Poll.id, Poll.closes_at, Poll.reminder_hours_before).where(
            Poll.status == "open",
            Poll.reminder_hours_before.is_not(None),
            Poll.reminder_sent_at.is_(None),
            Poll.closes_at > now,
        )
    ).all()
    return [
        row.id for row in rows if row.closes_at - timedelta(hours=row.reminder_hours_before) <= now
    ]


def mark_reminder(poll_id: int, now: datetime) -> bool:
    """Claim the poll's one reminder; False when it was claimed already (a second clock)."""
    return (
        db.session.execute(
            update(Poll)
            .where(Poll.id == poll_id, Poll.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
            .returning(Poll.id)
            .execution_options(synchronize_session=False)
        ).first()
        is not None
    )
