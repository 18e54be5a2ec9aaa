"""Password hashing (argon2) and the password rules."""

from functools import lru_cache

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 10
MAX_LENGTH = 1024


def _cost() -> tuple[int, int, int]:
    """(passes, memory in KiB, lanes) from the configuration (config.py), else the defaults."""
    config = current_app.config if has_app_context() else {}
    return (
        config.get("PASSWORD_HASH_TIME_COST", 3),
        config.get("PASSWORD_HASH_MEMORY_KIB", 65536),
        config.get("PASSWORD_HASH_PARALLELISM", 4),
    )


def _hasher():
    return _hasher_for(_cost())


@lru_cache(maxsize=4)
def _hasher_for(cost: tuple[int, int, int]):
    # argon2 is imported on the first sign-in or sign-up, not by every web worker at start.
    from argon2 import PasswordHasher

    time_cost, memory_cost, parallelism = cost
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str) -> str:
    """A slow, salted argon2id hash."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=4)
def _dummy_hash(cost: tuple[int, int, int]) -> str:
    return _hasher_for(cost).hash("not-a-real-password-at-all")


def verify_against_dummy(password: str) -> None:
    """Spend the time of a real check, so unknown accounts cannot be told apart by timing."""
    verify_password(_dummy_hash(_cost()), password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str | None = None):
    """The reason a password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    if password.lower() in _common_passwords():
        return _l("This password is too common. Choose one that is harder to guess.")
    if email:
        lowered = password.lower()
        local = email.lower().split("@")[0]
        if lowered == email.lower() or (
            len(local) >= 4 and local in lowered and len(lowered) - len(local) < 4
        ):
            return _l("Do not use your e-mail address as your password.")
    return None
