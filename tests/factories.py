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
