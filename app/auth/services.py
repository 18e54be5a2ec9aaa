"""Account logic: services validate, change the session and flush; routes commit."""

from __future__ import annotations

import hashlib
import io

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.auth import passwords, tokens
from app.auth.models import User, UserRole
from app.auth.tasks import make_avatar_thumbnail
from app.core import audit, ratelimit
from app.core.crypto import lookup_hash
from app.core.errors import DomainError
from app.core.http import absolute_url
from app.core.jobs import enqueue_after_commit
from app.core.mail import queue_mail
from app.core.security import ROLES
from app.core.storage import delete_after_commit, new_key, store
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.extensions import db

AVATAR_MAX_BYTES = 5 * 1024 * 1024
AVATAR_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
AVATAR_THUMB = (256, 256)


class LoginFailed(DomainError):
    """A refused login; `reason` is what the audit log records (a FAILURE_LABELS key)."""

    reason = "password"

    def __init__(self, message, field: str | None = None, reason: str | None = None):
        super().__init__(message, field)
        self.reason = reason or self.reason


class LockedOut(LoginFailed):
    status = 429
    code = "locked_out"
    reason = "locked_out"


class NotVerified(LoginFailed):
    status = 403
    code = "not_verified"
    reason = "not_verified"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register(
    name: str, email: str, password: str, locale: str, accepted_privacy: bool
) -> User | None:
    """Create an unverified account and send the verification e-mail.

    An address that has an account already gets no error (that would tell anyone which
    addresses are registered): its owner is told by e-mail instead, the same slow password hash
    is computed, and the caller answers with the same page. None is returned then.
    """
    email = normalise_email(email)
    if not accepted_privacy:
        raise DomainError(_l("You must accept the privacy policy."), field="accept_privacy")
    problem = passwords.password_problem(password, email)
    if problem:
        raise DomainError(problem, field="password")
    password_hash = passwords.hash_password(password)  # the slow work, done either way
    owner = find_user_by_email(email)
    if owner is not None:
        _address_taken(owner)
        return None
    user = User(
        name=name.strip(),
        email=email,
        password_hash=password_hash,
        locale=locale,
        privacy_accepted_at=utcnow(),
    )
    if not add_once(user):  # the same sign-up sent twice at once: the other one made the account
        return None  # and sends its verification e-mail
    send_verification(user)
    return user


def _address_taken(owner: User) -> None:
    """Someone signed up with an address that has an account: tell its owner, at most hourly."""
    if not owner.is_active:
        return
    if not owner.is_verified:
        send_verification(owner)  # most likely the owner, who lost the first link
        return
    queue_mail(
        owner.email,
        "signup_attempt",
        owner.locale,
        {
            "name": owner.name,
            "login_link": absolute_url("auth.login"),
            "reset_link": absolute_url("auth.reset_request"),
        },
        key=f"signup_attempt:{owner.id}:{utcnow():%Y%m%d%H}",
        user_id=owner.id,
    )


def send_verification(user: User) -> None:
    """Queue the e-mail with the signed verification link."""
    link = absolute_url("auth.verify", token=tokens.make_token(user, "verify"))
    queue_mail(
        user.email, "verify_email", user.locale, {"name": user.name, "link": link}, user_id=user.id
    )


def verify_email(token: str) -> User:
    """Mark the address verified; a used, expired or altered link is refused."""
    user, state = tokens.load_token(token, "verify")
    if state == "expired":
        raise DomainError(_l("This verification link has expired. Ask for a new one."))
    if user is None:
        raise DomainError(_l("This verification link is not valid or has already been used."))
    user.email_verified_at = utcnow()
    audit.record("user.verified", "user", user.id, actor_id=user.id, subject_user_id=user.id)
    return user


def _lockout_ids(email: str, address: str) -> tuple[str, str]:
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:24]
    return digest, address or "unknown"


def count_failed_login(email: str, address: str) -> None:
    """Count a failure (a wrong second-factor code) against the login lockout."""
    lockout = ratelimit.item(current_app.config["LOGIN_LOCKOUT"])
    ratelimit.hit(lockout, "login-failures", *_lockout_ids(email, address))


def authenticate(email: str, password: str, address: str) -> User:
    """The user for these credentials; repeated failures for one account and address lock it."""
    lockout = ratelimit.item(current_app.config["LOGIN_LOCKOUT"])
    ids = _lockout_ids(email, address)
    if not ratelimit.test(lockout, "login-failures", *ids):
        raise LockedOut(
            _l("Too many failed attempts. Wait 15 minutes and try again, or reset your password.")
        )
    user = find_user_by_email(email)
    if user is None:
        passwords.verify_against_dummy(password)  # same time whether or not the account exists
    if user is None or not passwords.verify_password(user.password_hash, password):
        ratelimit.hit(lockout, "login-failures", *ids)
        raise LoginFailed(
            _l("Wrong e-mail address or password."),
            field="password",
            reason="unknown_account" if user is None else "password",
        )
    if not user.is_active:
        raise LoginFailed(_l("This account is closed."), field="email", reason="closed")
    if not user.is_verified:
        raise NotVerified(
            _l(
                "Confirm your e-mail address first: follow the link we sent you, "
                "or ask for a new one."
            )
        )
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    audit.record("auth.login", "user", user.id, actor_id=user.id, subject_user_id=user.id)
    return user


def record_failed_login(email: str, reason: str) -> None:
    """Audit a refused login. An address without an account is kept only as a keyed hash (it may
    be a mistyped address of someone else), so the log holds no unknown address in clear."""
    user = find_user_by_email(email)
    after: dict[str, str] = {"reason": reason}
    if user is None:
        after["email_hash"] = lookup_hash(normalise_email(email), "audit-email")[:32]
    audit.record(
        "auth.login_failed",
        "user",
        user.id if user else None,
        after=after,
        subject_user_id=user.id if user else None,
    )


def record_logout(user: User) -> None:
    """Audit a logout."""
    audit.record("auth.logout", "user", user.id, actor_id=user.id, subject_user_id=user.id)


def request_password_reset(email: str) -> None:
    """Send a reset link when the account exists; the caller answers the same either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    link = absolute_url("auth.reset_password", token=tokens.make_token(user, "reset"))
    queue_mail(
        user.email,
        "reset_password",
        user.locale,
        {"name": user.name, "link": link},
        user_id=user.id,
    )


def check_reset_token(token: str) -> User:
    user, state = tokens.load_token(token, "reset")
    if state == "expired":
        raise DomainError(_l("This reset link has expired. Ask for a new one."))
    if user is None:
        raise DomainError(_l("This reset link is not valid or has already been used."))
    return user


def _set_password(user: User, password: str) -> None:
    problem = passwords.password_problem(password, user.email)
    if problem:
        raise DomainError(problem, field="password")
    user.password_hash = passwords.hash_password(password)
    user.session_version += 1


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; the link is then used up, other sessions end."""
    user = check_reset_token(token)
    _set_password(user, password)
    if not user.is_verified:
        user.email_verified_at = utcnow()  # following the e-mailed link proves the address
    audit.record("user.password_reset", "user", user.id, actor_id=user.id, subject_user_id=user.id)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change the password with the current one; the user's other sessions end."""
    if not passwords.verify_password(user.password_hash, current):
        raise DomainError(_l("The current password is wrong."), field="current_password")
    _set_password(user, new)
    audit.record("user.password_changed", "user", user.id, subject_user_id=user.id)


def check_image(data: bytes) -> str:
    """The file extension of a real image, judged by content; refuses broken or disguised files."""
    if len(data) > AVATAR_MAX_BYTES:
        raise DomainError(_l("The image is larger than 5 MB."), field="avatar")
    from PIL import Image, UnidentifiedImageError  # only for uploads: not loaded at start

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(
            _l("This file is not an image we can read. Use a JPEG, PNG, WebP or GIF file."),
            field="avatar",
        ) from None
    if kind not in AVATAR_FORMATS:
        raise DomainError(_l("Use a JPEG, PNG, WebP or GIF file."), field="avatar")
    return AVATAR_FORMATS[kind]


def update_profile(
    user: User, name: str, locale: str, avatar: bytes | None, remove_avatar: bool = False
) -> None:
    """Save name, language and (optionally) a new profile image; thumbnails come from a job."""
    if locale not in current_app.config["LANGUAGES"]:
        raise DomainError(_l("Choose one of the offered languages."), field="locale")
    if remove_avatar and not avatar:
        for key in (user.avatar_key, user.avatar_thumb_key):
            if key:
                delete_after_commit("public", key)
        user.avatar_key = user.avatar_thumb_key = None
    if avatar:
        extension = check_image(avatar)
        key = store(
            "public",
            new_key("avatars", extension),
            avatar,
            f"image/{'jpeg' if extension == 'jpg' else extension}",
        )
        user.avatar_key = key
        user.avatar_thumb_key = None
        enqueue_after_commit(make_avatar_thumbnail, user.id, key)
    user.name = name.strip()
    user.locale = locale


def set_roles(user: User, roles: set[str], actor: User) -> None:
    """Grant and remove staff roles; the change is audit-logged with before and after."""
    unknown = roles - set(ROLES)
    if unknown:
        raise DomainError(_l("Unknown role."), field="roles")
    before = sorted(user.role_names)
    if user.id == actor.id and "admin" in before and "admin" not in roles:
        raise DomainError(_l("You cannot remove your own admin role."), field="roles")
    for held in list(user.roles):
        if held.role not in roles:
            user.roles.remove(held)
    for role in roles - user.role_names:
        user.roles.append(UserRole(role=role, granted_by_id=actor.id))
    after = sorted(roles)
    if before != after:
        db.session.flush()
        audit.record(
            "user.roles_changed",
            "user",
            user.id,
            {"roles": before},
            {"roles": after},
            actor_id=actor.id,
            subject_user_id=user.id,
        )


def search_users(query: str | None, role: str | None = None):
    """A select of users matching a name or e-mail fragment, optionally holding a role."""
    stmt = select(User).order_by(User.name, User.id)
    if query:
        like = contains_pattern(query.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(like, escape=LIKE_ESCAPE),
                User.email.like(like, escape=LIKE_ESCAPE),
            )
        )
    if role:
        stmt = stmt.where(User.roles.any(UserRole.role == role))
    return stmt


def create_user(
    email: str,
    name: str,
    password: str,
    roles: list[str],
    verified: bool,
    locale: str | None = None,
    check_password: bool = True,
) -> User:
    """Create a user from the command line or demo data (in DEFAULT_LANGUAGE unless told)."""
    locale = locale or current_app.config["DEFAULT_LANGUAGE"]
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise DomainError(_l("An account with this e-mail address already exists."), field="email")
    if check_password:
        problem = passwords.password_problem(password, email)
        if problem:
            raise DomainError(problem, field="password")
    user = User(
        email=email,
        name=name,
        password_hash=passwords.hash_password(password),
        locale=locale,
        privacy_accepted_at=utcnow(),
        email_verified_at=utcnow() if verified else None,
    )
    for role in roles:
        if role not in ROLES:
            raise DomainError(_l("Unknown role."), field="roles")
        user.roles.append(UserRole(role=role))
    db.session.add(user)
    db.session.flush()
    return user
