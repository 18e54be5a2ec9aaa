"""Undo a check-in (a wrong scan), recorded in the scan log and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.checkin.models import Scan
from app.checkin.redeem import DEVICE_MAX, Scanner
from app.core import audit
from app.core.errors import NotFound
from app.core.timeutil import utcnow
from app.events.models import Registration
from app.extensions import db

registrations = Registration.__table__


@dataclass(frozen=True)
class UndoAnswer:
    status: str  # undone | not_checked_in
    registration_id: int
    name: str

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "registration": {"id": self.registration_id, "name": self.name},
        }


def undo(registration_id: int, scanner: Scanner, event_id: int | None = None) -> UndoAnswer:
    """Take back a check-in (a wrong scan); recorded in the scan log and the audit log."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or (event_id is not None and registration.event_id != event_id):
        raise NotFound(_l("No such registration."), field="registration_id")
    before = {
        "checked_in_at": registration.checked_in_at.isoformat()
        if registration.checked_in_at
        else None,
        "checked_in_by_id": registration.checked_in_by_id,
    }
    row = db.session.execute(
        update(registrations)
        .where(registrations.c.id == registration_id, registrations.c.checked_in_at.is_not(None))
        .values(checked_in_at=None, checked_in_by_id=None)
        .returning(registrations.c.id)
    ).first()
    db.session.expire(registration, ["checked_in_at", "checked_in_by_id"])
    status = "undone" if row is not None else "not_checked_in"
    now = utcnow()
    db.session.add(
        Scan(
            event_id=registration.event_id,
            registration_id=registration.id,
            user_id=scanner.user_id,
            device=scanner.device[:DEVICE_MAX],
            source=scanner.source,
            action="undo",
            nonce=None,
            ticket_ref=f"#{registration.id}",
            result=status,
            scanned_at=now,
            created_at=now,
        )
    )
    if row is not None:
        audit.record(
            "checkin.undone",
            "registration",
            registration.id,
            before=before,
            after={"checked_in_at": None, "checked_in_by_id": None},
            actor_id=scanner.user_id,
            subject_user_id=registration.user_id,
        )
    db.session.flush()
    return UndoAnswer(status, registration.id, registration.name)
