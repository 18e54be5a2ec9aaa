"""Who may register, and when: the refusal reasons, the registration window, membership, and
what the event lists show (open, full, closed, ...)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.core.errors import Conflict
from app.core.timeutil import utcnow
from app.events.models import Event
from app.members.records import is_active_member


class Refused(Conflict):
    """A registration that cannot be made; ``code`` says why (full, closed, ...)."""

    def __init__(self, message, code: str, field: str | None = None):
        super().__init__(message, field=field)
        self.code = code


REASONS = {
    "not_published": _l("This event is not open for registration."),
    "cancelled": _l("This event is cancelled."),
    "not_open": _l("Registration has not opened yet."),
    "closed": _l("Registration is closed."),
    "full": _l("The event is full."),
    "members_only": _l("Only members with an active membership can register for this event."),
    "not_verified": _l("Confirm your e-mail address before you register."),
    "already_registered": _l("You are already registered for this event."),
}


def refuse(code: str) -> Refused:
    return Refused(REASONS[code], code)


def closes_at(event: Event) -> datetime:
    """When registration closes: the set time, or when the event starts."""
    return event.registration_closes_at or event.starts_at


def window_problem(event: Event, now: datetime | None = None) -> str | None:
    """Why nobody can register right now, or None."""
    now = now or utcnow()
    if event.status == "cancelled":
        return "cancelled"
    if event.status != "published":
        return "not_published"
    if event.registration_opens_at and now < event.registration_opens_at:
        return "not_open"
    if now >= closes_at(event):
        return "closed"
    return None


def is_member(user) -> bool:
    """An active membership, as the members domain decides it."""
    return is_active_member(user)


def user_problem(event: Event, user) -> str | None:
    """Why this person cannot register, or None."""
    if not user.is_verified:
        return "not_verified"
    if event.members_only and not is_member(user):
        return "members_only"
    return None


def availability(event: Event, now: datetime | None = None) -> str:
    """What the lists show: open, full_waiting, full, closed, not_open, cancelled, past."""
    now = now or utcnow()
    if event.status == "cancelled":
        return "cancelled"
    if event.ends_at <= now:
        return "past"
    problem = window_problem(event, now)
    if problem in ("closed", "not_published"):
        return "closed"
    if event.seats_left == 0:
        return "full_waiting" if event.waiting_list_enabled else "full"
    if problem == "not_open":
        return "not_open"
    return "open"
