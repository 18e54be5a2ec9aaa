"""The redeem path: check a ticket in exactly once, by its scanned code or by hand.

The one rule that matters: a registration is checked in by a single conditional
``UPDATE registrations SET checked_in_at=... WHERE ... AND checked_in_at IS NULL AND
state='confirmed' RETURNING ...``, so of any number of simultaneous scans of one ticket exactly
one gets "ok". A code's Ed25519 signature is checked before any registration is touched, and
every scan is written to the scan log under the client's nonce (unique), so a retried request
gets the stored answer and records nothing new.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, select, text, update

from app.auth.models import User
from app.checkin.gate import (
    DOOR_OPEN_AFTER_END,
    require_event,
    require_open_door,
    signature_valid,
)
from app.checkin.models import Scan
from app.core.errors import Conflict, DomainError
from app.core.timeutil import utcnow
from app.core.unique import insert_unless_taken
from app.events.models import Event, Registration
from app.events.tickets import b64, clean_short_code, parse_code
from app.extensions import db
from app.webhooks.services import emit

registrations = Registration.__table__
scans = Scan.__table__
users = User.__table__

NONCE_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
DEVICE_MAX = 120
# How far a queued offline scan's own clock may lie in the past; older ones count as "now".
OFFLINE_MAX_AGE = timedelta(hours=48)


class NonceReused(Conflict):
    """The nonce was already used for a different scan."""

    code = "nonce_reused"


class ReplayedScan(Exception):  # noqa: N818 (a signal, not an error: the answer already exists)
    """The scan's nonce is already in the log: the caller rolls back and answers from the log."""

    def __init__(self, nonce: str, event_id: int, ticket_ref: str | None):
        super().__init__(nonce)
        self.nonce, self.event_id, self.ticket_ref = nonce, event_id, ticket_ref


@dataclass(frozen=True)
class Scanner:
    """Who scans, on which device, through which door (api, door, offline, staff)."""

    user_id: int
    user_name: str
    device: str
    source: str


@dataclass(frozen=True)
class ScanAnswer:
    """The answer to a scan, in the shape of POST /api/v1/checkin."""

    status: str
    registration_id: int | None = None
    name: str | None = None
    checked_in_at: datetime | None = None
    checked_in_by: str | None = None
    checked_in_by_id: int | None = None  # kept in the scan log, not shown
    event_title: str | None = None  # the event a wrong_event ticket belongs to

    def as_json(self) -> dict:
        answer = {
            "status": self.status,
            "registration": (
                {"id": self.registration_id, "name": self.name}
                if self.registration_id is not None
                else None
            ),
            "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
            "checked_in_by": self.checked_in_by,
        }
        if self.event_title is not None:
            answer["event"] = {"title": self.event_title}
        return answer


# --- validation of inputs --------------------------------------------------------------------


def clean_nonce(nonce) -> str:
    """The client's nonce, or a DomainError naming the field."""
    if not isinstance(nonce, str) or not NONCE_RE.match(nonce):
        raise DomainError(
            _l("A nonce of 1-100 letters, digits or ._:- is required."), field="nonce"
        )
    return nonce


def new_nonce(prefix: str) -> str:
    """A server-made nonce, for check-ins by hand in the staff area."""
    return f"{prefix}-{secrets.token_urlsafe(16)}"


def clean_scanned_at(value: datetime | None, now: datetime) -> datetime:
    """A queued offline scan keeps its own time when it is plausible; otherwise now."""
    if value is None or value > now or value < now - OFFLINE_MAX_AGE:
        return now
    return value


# --- redeeming -------------------------------------------------------------------------------


# The condition that makes a check-in happen at most once. Under PostgreSQL's READ COMMITTED a
# second UPDATE of the same row waits for the first to commit, then re-checks this condition
# against the new row and finds it false. (The concurrency test replaces it to show that.)
CHECKIN_GUARD = "checked_in_at IS NULL AND state = 'confirmed'"


def _conditional_checkin(where, scanner: Scanner, at: datetime):
    stmt = (
        update(registrations)
        .where(where, text(CHECKIN_GUARD))
        .values(checked_in_at=at, checked_in_by_id=scanner.user_id)
        .returning(registrations.c.id, registrations.c.name)
    )
    return db.session.execute(stmt).first()


def _why_not(where) -> ScanAnswer | None:
    """Why a registration could not be checked in; None when it can be after all (an undo raced)."""
    row = db.session.execute(
        select(
            registrations.c.id,
            registrations.c.name,
            registrations.c.state,
            registrations.c.checked_in_at,
            registrations.c.checked_in_by_id,
            users.c.name.label("by"),
        )
        .select_from(registrations.outerjoin(users, users.c.id == registrations.c.checked_in_by_id))
        .where(where)
    ).first()
    if row is None:
        return ScanAnswer("unknown")
    if row.state == "cancelled":
        return ScanAnswer("cancelled", row.id, row.name)
    if row.state != "confirmed":
        return ScanAnswer("not_confirmed", row.id, row.name)
    if row.checked_in_at is not None:
        return ScanAnswer(
            "already_checked_in", row.id, row.name, row.checked_in_at, row.by, row.checked_in_by_id
        )
    return None


def _redeem_where(where, scanner: Scanner, at: datetime, tried: bool = False) -> ScanAnswer:
    """Check in the registration the condition picks, or say why not (tried: the conditional
    UPDATE has just found nothing to change)."""
    for _attempt in range(3):
        if not tried:
            row = _conditional_checkin(where, scanner, at)
            if row is not None:
                return ScanAnswer("ok", row.id, row.name, at, scanner.user_name, scanner.user_id)
        tried = False
        answer = _why_not(where)
        if answer is not None:
            return answer
    return ScanAnswer("unknown")  # pragma: no cover (three undos racing three scans)


_SCAN_COLUMNS = (
    "event_id",
    "registration_id",
    "user_id",
    "device",
    "source",
    "action",
    "nonce",
    "ticket_ref",
    "result",
    "checked_in_at",
    "checked_in_by_id",
    "offline_accepted",
    "scanned_at",
    "created_at",
)
# The scan's row, unless a retry of this nonce wrote it already (app/core/unique.py: an
# INSERT ... ON CONFLICT compiled once; compiling it on every scan cost more than the rest).
RECORD_SCAN = insert_unless_taken(scans, _SCAN_COLUMNS, ("nonce",), ("id",))


_FAST_CHECKIN: dict[str, object] = {}


def _fast_checkin():
    """PostgreSQL: the conditional UPDATE and its scan-log row in one statement (one round trip
    on the hot path). logged = 0 means the nonce was already in the log: a retry."""
    stmt = _FAST_CHECKIN.get(CHECKIN_GUARD)
    if stmt is None:
        columns = ", ".join(_SCAN_COLUMNS)
        stmt = text(
            "WITH checked AS ("
            " UPDATE registrations SET checked_in_at = :at, checked_in_by_id = :user_id"
            f" WHERE ticket_code = :code AND event_id = :event_id AND {CHECKIN_GUARD}"
            " AND EXISTS (SELECT 1 FROM events WHERE events.id = :event_id"
            " AND events.status = 'published' AND events.ends_at >= :door_open_after)"
            " RETURNING id, name"
            "), logged AS ("
            f" INSERT INTO checkin_scans ({columns})"
            " SELECT :event_id, checked.id, :user_id, :device, :source, 'checkin', :nonce,"
            " :ticket_ref, 'ok', :at, :user_id, :offline_accepted, :at, :now FROM checked"
            " ON CONFLICT (nonce) DO NOTHING RETURNING id"
            ") SELECT checked.id, checked.name, (SELECT count(*) FROM logged) AS logged"
            " FROM checked"
        ).bindparams(
            bindparam("at", type_=scans.c.checked_in_at.type),
            bindparam("now", type_=scans.c.created_at.type),
            bindparam("door_open_after", type_=Event.__table__.c.ends_at.type),
            bindparam("offline_accepted", type_=scans.c.offline_accepted.type),
        )
        _FAST_CHECKIN[CHECKIN_GUARD] = stmt
    return stmt


def _record(
    event_id: int,
    answer: ScanAnswer,
    scanner: Scanner,
    nonce: str,
    ticket_ref: str | None,
    scanned_at: datetime,
    now: datetime,
    offline_accepted: bool | None = None,
) -> None:
    """Write the scan to the log; a nonce already there means this request is a retry."""
    values = {
        "event_id": event_id,
        "registration_id": answer.registration_id,
        "user_id": scanner.user_id,
        "device": scanner.device[:DEVICE_MAX],
        "source": scanner.source,
        "action": "checkin",
        "nonce": nonce,
        "ticket_ref": ticket_ref,
        "result": answer.status,
        "checked_in_at": answer.checked_in_at,
        "checked_in_by_id": answer.checked_in_by_id,
        "offline_accepted": offline_accepted,
        "scanned_at": scanned_at,
        "created_at": now,
    }
    if db.session.execute(RECORD_SCAN, values).first() is None:
        raise ReplayedScan(nonce, event_id, ticket_ref)


def redeem(
    event_id: int,
    code_text: str,
    nonce: str,
    scanner: Scanner,
    scanned_at: datetime | None = None,
    offline_accepted: bool | None = None,
) -> ScanAnswer:
    """Check in the ticket whose code (or ticket URL) was scanned at the event's door.

    Raises ReplayedScan when the nonce is already in the log (the route rolls back and calls
    stored_answer), NotFound for an unknown event, DoorClosed for an event the door does not
    scan (require_open_door), DomainError for a bad nonce.
    """
    nonce = clean_nonce(nonce)
    now = utcnow()
    at = clean_scanned_at(scanned_at, now)
    text_in = code_text if isinstance(code_text, str) else ""
    parsed = parse_code(text_in)
    short = None if parsed else clean_short_code(text_in)
    ticket_ref = parsed.ticket_id if parsed else short
    genuine = parsed is not None and signature_valid(parsed)
    code = f"{parsed.event_id}.{parsed.ticket_id}.{b64(parsed.signature)}" if genuine else None
    tried = False
    if (
        genuine
        and parsed.event_id == event_id
        and db.session.get_bind().dialect.name == "postgresql"
    ):
        # The hot path: one statement checks that the door is open, checks the ticket in and
        # logs the scan. Anything else (a closed door included) takes the path below.
        row = db.session.execute(
            _fast_checkin(),
            {
                "at": at,
                "now": now,
                "door_open_after": now - DOOR_OPEN_AFTER_END,
                "user_id": scanner.user_id,
                "code": code,
                "event_id": event_id,
                "device": scanner.device[:DEVICE_MAX],
                "source": scanner.source,
                "nonce": nonce,
                "ticket_ref": ticket_ref,
                "offline_accepted": offline_accepted,
            },
        ).first()
        if row is not None:
            if not row.logged:
                raise ReplayedScan(nonce, event_id, ticket_ref)
            _checked_in(event_id, row.id, at)
            return ScanAnswer("ok", row.id, row.name, at, scanner.user_name, scanner.user_id)
        tried = True
    require_open_door(event_id, now)  # no ticket of a cancelled, draft or long-past event passes
    if short is not None:
        # Typed from the ticket: its short code names one ticket of this event (or none).
        where = and_(registrations.c.short_code == short, registrations.c.event_id == event_id)
        answer = _redeem_where(where, scanner, at)
    elif not genuine:
        # Forged, altered or not a code at all: no registration is looked at.
        answer = ScanAnswer("unknown")
    elif parsed.event_id != event_id:
        # A genuine ticket of another event: the answer names that event.
        title = db.session.scalar(select(Event.title).where(Event.id == parsed.event_id))
        answer = ScanAnswer("wrong_event", event_title=title)
    else:
        where = and_(registrations.c.ticket_code == code, registrations.c.event_id == event_id)
        answer = _redeem_where(where, scanner, at, tried)
    _record(event_id, answer, scanner, nonce, ticket_ref, at, now, offline_accepted)
    if answer.status == "ok":
        _checked_in(event_id, answer.registration_id, at)
    return answer


def _checked_in(event_id: int, registration_id: int | None, at: datetime) -> None:
    """Tell the webhooks of a check-in (written with it, sent after the commit)."""
    emit(
        "checkin.created",
        {"registration_id": registration_id, "event_id": event_id, "checked_in_at": at.isoformat()},
    )


def check_in_by_hand(
    event_id: int,
    registration_id: int,
    scanner: Scanner,
    nonce: str | None = None,
    scanned_at: datetime | None = None,
) -> ScanAnswer:
    """Check in a registration found by name (a person without their ticket)."""
    nonce = clean_nonce(nonce) if nonce is not None else new_nonce(scanner.source)
    now = utcnow()
    at = clean_scanned_at(scanned_at, now)
    require_event(event_id)
    where = and_(registrations.c.id == registration_id, registrations.c.event_id == event_id)
    answer = _redeem_where(where, scanner, at)
    _record(event_id, answer, scanner, nonce, f"#{registration_id}", at, now)
    if answer.status == "ok":
        _checked_in(event_id, answer.registration_id, at)
    return answer


def stored_answer(replay: ReplayedScan) -> ScanAnswer:
    """The answer recorded for a nonce, for a retried request (after the caller's rollback)."""
    checked_by = users.alias("checked_by")
    row = db.session.execute(
        select(
            scans.c.event_id,
            scans.c.ticket_ref,
            scans.c.action,
            scans.c.result,
            scans.c.registration_id,
            scans.c.checked_in_at,
            registrations.c.name,
            checked_by.c.name.label("by"),
        )
        .select_from(
            scans.outerjoin(registrations, registrations.c.id == scans.c.registration_id).outerjoin(
                checked_by, checked_by.c.id == scans.c.checked_in_by_id
            )
        )
        .where(scans.c.nonce == replay.nonce)
    ).first()
    if (
        row is None
        or row.action != "checkin"
        or (row.event_id, row.ticket_ref) != (replay.event_id, replay.ticket_ref)
    ):
        raise NonceReused(_l("This nonce was already used for a different scan."), field="nonce")
    return ScanAnswer(
        row.result,
        row.registration_id,
        row.name if row.registration_id is not None else None,
        row.checked_in_at,
        row.by,
    )
