"""Helpers for the membership tests: kennitölur, members in a given state."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.members import lifecycle
from app.members.national_id import kennitala_check_digit
from tests.factories import make_user


def kennitala(born: date, middle: int = 32) -> str:
    """A valid kennitala for the birthday (the first middle digits that give a check digit)."""
    for mid in range(middle, 100):
        first = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}{mid:02d}"
        check = kennitala_check_digit(first)
        if check is not None:
            century = {18: "8", 19: "9", 20: "0"}[born.year // 100]
            return f"{first}{check}{century}"
    raise AssertionError("no kennitala for that date")


def record(**overrides) -> dict:
    values = {
        "full_name": "Guðrún Jónsdóttir",
        "birthday": None,
        "gender": "",
        "phone": "+354 555 1234",
        "secondary_email": "",
        "street": "Laugavegur",
        "house_number": "12",
        "apartment": "",
        "postal_code": "101",
        "city": "Reykjavík",
        "municipality": "Reykjavíkurborg",
        "region": "Höfuðborgarsvæðið",
        "country": "IS",
        "job_title": "Nurse",
        "housing": "",
        "national_id_country": "IS",
        "national_id": "",
    }
    values.update(overrides)
    return values


def make_member(
    user=None,
    status: str = "active",
    consents: dict | None = None,
    staff=None,
    **fields,
):
    """A member (applied, then approved when status is active), flushed."""
    user = user or make_user()
    is_test = fields.pop("is_test", False)
    fields.setdefault("full_name", user.name)
    membership = lifecycle.apply(
        user, record(**fields), consents or {"reachable": True, "groupable": True}
    )
    if status == "active":
        lifecycle.approve(membership, staff.id if staff else None)
    elif status == "rejected":
        lifecycle.reject(membership, staff.id if staff else None, "Not eligible")
    elif status == "resigned":
        lifecycle.approve(membership, None)
        lifecycle.end_membership(membership, None, "", by_member=True)
    membership.is_test = is_test
    db.session.flush()
    return membership
