"""Registration: seats, the waiting list and promotion, without ever overbooking.

The races are closed in the database:
- a seat is taken with one conditional UPDATE (``confirmed_count < capacity``), so two requests
  can never both take the last seat; the check constraint on ``events`` is the last line;
- the unique (event_id, user_id) constraint makes a double click one registration;
- promotion locks the first waiting row with ``FOR NO KEY UPDATE SKIP LOCKED``, so people who
  unregister at the same moment hand their seats to different people;
- a seat freed while someone is joining the waiting list is not left empty: the joiner looks
  again holding the event row, and the cancellation looks again after releasing the seat.
Row locks are NO KEY UPDATE: inserting rows that refer to an event or registration hold KEY SHARE
on it, which FOR UPDATE would conflict with (and deadlock on).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import Update, bindparam, func, or_, select, update

from app.auth.services import find_user_by_email, normalise_email
from app.core import audit
from app.core.errors import Conflict, DomainError, NotFound
from app.core.jobs import enqueue_after_commit
from app.core.timeutil import utcnow
from app.events.eligibility import Refused, refuse, user_problem, window_problem
from app.events.models import Event, Registration
from app.events.registration_rows import reserve_row
from app.events.tasks import make_ticket
from app.events.tickets import make_code, short_code
from app.extensions import db
from app.forms.answers import event_form, save_for_registration, validate
from app.forms.models import Form
from app.webhooks.services import emit

ACTIVE_STATES = ("confirmed", "waiting")


def _seat_condition():
    """The guard: only while a seat is free (tests swap it out to show it matters)."""
    return or_(Event.capacity.is_(None), Event.confirmed_count < Event.capacity)


def _take_seat_statement(condition) -> Update:
    # On the table, not the mapped class: the ORM's bulk UPDATE path has nothing to do here
    # (the count is expired by hand) and cost a fifth of the statement's client CPU.
    events = Event.__table__
    return (
        update(events)
        .where(events.c.id == bindparam("seat_event_id"), condition)
        .values(confirmed_count=events.c.confirmed_count + 1)
        .returning(events.c.confirmed_count)
    )


# Built once: a registration only binds the event's id.
_GUARD = _seat_condition
_TAKE_SEAT = _take_seat_statement(_seat_condition())


def take_seat(event_id: int) -> bool:
    """Take one seat with a single conditional UPDATE; False when none is free."""
    swapped = _seat_condition is not _GUARD  # a test took the guard out
    statement = _take_seat_statement(_seat_condition()) if swapped else _TAKE_SEAT
    row = db.session.execute(statement, {"seat_event_id": event_id}).first()
    _expire_count(event_id)
    return row is not None


def release_seat(event_id: int) -> None:
    db.session.execute(
        update(Event)
        .where(Event.id == event_id, Event.confirmed_count > 0)
        .values(confirmed_count=Event.confirmed_count - 1)
        .execution_options(synchronize_session=False)
    )
    _expire_count(event_id)


def _expire_count(event_id: int) -> None:
    # The identity map's key for an event, as session.identity_key would build it (slowly).
    event = db.session.identity_map.get((Event, (event_id,), None))
    if event is not None:
        db.session.expire(event, ["confirmed_count"])


_SHORT_CODE_TAKEN = (
    select(Registration.id)
    .where(
        Registration.event_id == bindparam("event_id"),
        Registration.short_code == bindparam("code"),
        Registration.id != bindparam("own_id"),
    )
    .limit(1)
)


def _free_short_code(registration: Registration, event_id: int) -> str:
    """The ticket's short code, or another made from its code when the event already has it
    (the unique constraint stays the last line)."""
    with db.session.no_autoflush:
        for attempt in range(10):
            candidate = short_code(registration.ticket_code, attempt)
            params = {"event_id": event_id, "code": candidate, "own_id": registration.id or 0}
            if db.session.scalar(_SHORT_CODE_TAKEN, params) is None:
                return candidate
    return candidate


def _confirm(registration: Registration, event: Event, promoted: bool = False) -> None:
    """The seat is taken: issue a new signed code and ask for the ticket job."""
    now = utcnow()
    registration.state = "confirmed"
    registration.confirmed_at = now
    registration.waiting_since = None
    registration.cancelled_at = None
    registration.ticket_code = make_code(event.id, event.signing_key_encrypted)
    registration.short_code = _free_short_code(registration, event.id)
    registration.ticket_qr_key = None
    registration.ticket_mailed_at = None
    db.session.flush()
    _announce(registration, promoted)


def _announce(registration: Registration, promoted: bool = False) -> None:
    """A confirmed registration: the ticket job and the webhook."""
    enqueue_after_commit(make_ticket, registration.id, promoted, queue="tickets")
    emit("registration.confirmed", registration_event(registration))


def _back_to_waiting(registration: Registration) -> None:
    """A row written confirmed whose seat went to someone else meanwhile: it waits instead."""
    registration.state = "waiting"
    registration.waiting_since = registration.created_at
    registration.confirmed_at = None
    registration.ticket_code = None  # and its short code (see the model)


def registration_event(registration: Registration) -> dict:
    """A registration's webhook payload: ids and state."""
    return {
        "registration_id": registration.id,
        "event_id": registration.event_id,
        "user_id": registration.user_id,
        "state": registration.state,
    }


def lock_event_row(event_id: int) -> None:
    """Wait for, then hold, the event row (PostgreSQL) until this transaction ends.

    FOR NO KEY UPDATE, the lock the seat UPDATE takes: it does not conflict with the KEY SHARE
    locks that inserting registrations hold on the event through their foreign key (FOR UPDATE
    would, and two registrants would deadlock).
    """
    db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update(key_share=True))


def _place(
    registration: Registration, event: Event, allow_waiting: bool, ticketed: bool = False
) -> None:
    """Confirm when a seat is free, else leave on the waiting list, else refuse.

    When the event looks full, look again holding the event row: a cancellation running at the
    same moment could not see this (uncommitted) row to promote it, so it freed the seat
    instead; that seat is taken here rather than left empty while this person waits.
    A `ticketed` row was written confirmed with its ticket: it only needs its seat.
    """
    if not take_seat(event.id):
        lock_event_row(event.id)
        if not take_seat(event.id):
            if not allow_waiting:
                raise refuse("full")
            if ticketed:
                _back_to_waiting(registration)
            db.session.flush()
            return
    if ticketed:
        _announce(registration)
    else:
        _confirm(registration, event)


_NOT_READ = object()


def register(
    event_id: int,
    user,
    accepted_terms: bool,
    answers: Mapping | None = None,
    questions: Form | None | object = _NOT_READ,
) -> Registration:
    """Register a person: confirmed while seats remain, else on the waiting list, else refused.

    `answers` ({question id: value}) answer the event's registration questions; they are checked
    before anything is written and saved with the registration, in the same transaction. A
    caller that has read the questions already (the web form, to read the answers from the
    posted fields) passes them as `questions`, so they are not read twice.
    """
    event = db.session.get(Event, event_id)
    if event is None or event.status == "draft":
        raise NotFound(_l("There is no such event."))
    problem = window_problem(event) or user_problem(event, user)
    if problem:
        raise refuse(problem)
    terms = event.current_terms
    if terms is not None and terms.text.strip() and not accepted_terms:
        raise DomainError(_l("Accept the registration terms to register."), field="accept_terms")
    if questions is _NOT_READ:
        questions = event_form(event.id)
    values = validate(questions, answers) if questions is not None else {}
    accepted = {}
    if terms is not None and terms.text.strip():
        accepted = {"terms_id": terms.id, "terms_accepted_at": utcnow()}
    # Written confirmed with its ticket when a seat looks free: the row, the seat and the
    # ticket job, without a second write of the row (the seat may still go meanwhile).
    seat_free = event.capacity is None or event.confirmed_count < event.capacity
    registration, ticketed = reserve_row(
        event, user, user.name, user.email, None, accepted, ticketed=seat_free
    )
    _place(registration, event, event.waiting_list_enabled, ticketed)
    if questions is not None:
        save_for_registration(questions, registration, values)
    return registration


def add_by_hand(
    event: Event,
    name: str,
    email: str,
    locale: str,
    actor,
    answers: Mapping | None = None,
    questions: Form | None = None,
) -> Registration:
    """Staff add a person (with or without an account); seats and waiting list still apply.

    `answers` answer the registration `questions` the staff member was asked (the event's open
    form, read by the caller), checked first and saved with the registration as on the member's
    own registration; without questions nothing is asked (the command line, old callers)."""
    name, email = (name or "").strip(), normalise_email(email)
    if not name:
        raise DomainError(_l("Give the person's name."), field="name")
    if "@" not in email:
        raise DomainError(_l("Give a valid e-mail address."), field="email")
    if event.status == "cancelled":
        raise refuse("cancelled")
    values = validate(questions, answers) if questions is not None else {}
    user = find_user_by_email(email)
    if user is None:
        duplicate = db.session.scalar(
            select(Registration.id).where(
                Registration.event_id == event.id,
                Registration.user_id.is_(None),
                func.lower(Registration.email) == email,
                Registration.state.in_(ACTIVE_STATES),
            )
        )
        if duplicate:
            raise Refused(
                _l("This person is already registered for this event."),
                "already_registered",
                field="email",
            )
    try:
        registration, _ticketed = reserve_row(
            event, user, user.name if user else name, email, None if user else locale
        )
    except Refused as exc:
        raise Refused(
            _l("This person is already registered for this event."), exc.code, field="email"
        ) from None
    registration.added_by_id = getattr(actor, "id", None)
    _place(registration, event, allow_waiting=True)
    if questions is not None:
        save_for_registration(questions, registration, values)
    audit.record(
        "registration.added",
        "registration",
        registration.id,
        after={"event_id": event.id, "state": registration.state},
        subject_user_id=registration.user_id,
    )
    return registration


def _lock_registration(registration_id: int) -> Registration:
    registration = db.session.scalar(
        select(Registration)
        .where(Registration.id == registration_id)
        .with_for_update(key_share=True)  # NO KEY UPDATE: rows that refer to it may be added
        .execution_options(populate_existing=True)
    )
    if registration is None:
        raise NotFound(_l("There is no such registration."))
    return registration


def promote_first(event: Event) -> Registration | None:
    """Give a free seat to the first person waiting; the row lock keeps two promoters apart."""
    waiting = db.session.scalar(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.state == "waiting")
        .order_by(Registration.waiting_since, Registration.id)
        .limit(1)
        .with_for_update(skip_locked=True, key_share=True)
        .execution_options(populate_existing=True)
    )
    if waiting is None:
        return None
    _confirm(waiting, event, promoted=True)
    return waiting


def cancel_registration(registration_id: int, actor=None) -> Registration:
    """Cancel a registration; a freed seat goes at once to the first person waiting."""
    registration = _lock_registration(registration_id)
    if registration.state == "cancelled":
        raise Conflict(_l("This registration is already cancelled."))
    if registration.checked_in_at is not None:
        raise Conflict(_l("This person has already checked in; the registration stays."))
    was_confirmed = registration.state == "confirmed"
    registration.state = "cancelled"
    registration.cancelled_at = utcnow()
    registration.waiting_since = None
    db.session.flush()
    event = registration.event
    promoted = None
    if was_confirmed and event.status != "cancelled":
        promoted = promote_first(event)  # the seat passes straight on; the count stays
    if was_confirmed and promoted is None:
        release_seat(event.id)  # holds the event row from here to the commit
        if event.status != "cancelled":
            # Someone who joined the waiting list while we looked (committed before our lock).
            fill_free_seats(event)
    audit.record(
        "registration.cancelled",
        "registration",
        registration.id,
        after={"event_id": event.id, "promoted": promoted.id if promoted else None},
        actor_id=getattr(actor, "id", None),
        subject_user_id=registration.user_id,
    )
    emit("registration.cancelled", registration_event(registration))
    return registration


def unregister(event_id: int, user) -> Registration:
    """A person's own cancellation."""
    registration_id = db.session.scalar(
        select(Registration.id).where(
            Registration.event_id == event_id,
            Registration.user_id == user.id,
            Registration.state.in_(ACTIVE_STATES),
        )
    )
    if registration_id is None:
        raise NotFound(_l("You are not registered for this event."))
    event = db.session.get(Event, event_id)
    if event is not None and event.ends_at <= utcnow():
        raise Conflict(_l("The event is over."))
    return cancel_registration(registration_id, actor=user)


def move_from_waiting_list(registration_id: int, actor=None) -> Registration:
    """Staff confirm a particular person from the waiting list when a seat is free."""
    registration = _lock_registration(registration_id)
    if registration.state != "waiting":
        raise Conflict(_l("This person is not on the waiting list."))
    event = registration.event
    if not take_seat(event.id):
        raise Conflict(_l("No seat is free. Raise the capacity first, or cancel a registration."))
    _confirm(registration, event, promoted=True)
    audit.record(
        "registration.promoted",
        "registration",
        registration.id,
        after={"event_id": event.id},
        actor_id=getattr(actor, "id", None),
        subject_user_id=registration.user_id,
    )
    return registration


def fill_free_seats(event: Event) -> int:
    """After the capacity grows (or opens up), promote people waiting into the free seats."""
    promoted = 0
    while db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == event.id, Registration.state == "waiting"
        )
    ):
        if not take_seat(event.id):
            break
        if promote_first(event) is None:
            release_seat(event.id)
            break
        promoted += 1
    return promoted


def resend_ticket(registration_id: int) -> None:
    """Send the ticket e-mail again (a new outbox key, so it is really sent)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.state != "confirmed":
        raise Conflict(_l("Only a confirmed registration has a ticket."))
    key = f"ticket-resend:{registration.id}:{secrets.token_hex(6)}"
    enqueue_after_commit(make_ticket, registration.id, False, key, queue="tickets")
