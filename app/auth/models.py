"""Users and their staff roles."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.page_cache import NOT_ON_PUBLIC_PAGES
from app.core.security import ROLES, has_role
from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db


def default_language() -> str:
    """The organisation's DEFAULT_LANGUAGE, for a user created without a language."""
    return current_app.config["DEFAULT_LANGUAGE"]


class User(UserMixin, db.Model):
    """A person with an account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default=default_language)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    privacy_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped when the password changes or the account closes: part of the reset link's fingerprint
    # (sign-in sessions are rows of their own, app/auth/sessions.py).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    avatar_key: Mapped[str | None] = mapped_column(String(200))
    avatar_thumb_key: Mapped[str | None] = mapped_column(String(200))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # TOTP (app/auth/totp.py): the secret encrypted (app/core/crypto.py); confirmed once a first
    # code matched; the last accepted time step, so a code is accepted once.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="UserRole.user_id",
    )

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def role_names(self) -> set[str]:
        return {role.role for role in self.roles}

    @property
    def is_staff(self) -> bool:
        return bool(self.role_names)

    def has_role(self, *roles: str) -> bool:
        return has_role(self, *roles)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(db.Model):
    """A staff role held by a user."""

    __tablename__ = "user_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "role", name="uq_user_roles_user_role"),
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])


class SignInSession(db.Model):
    """A signed-in browser: the cookie holds a random key, this row its hash.

    kind "session" ends after SESSION_IDLE_MINUTES without use and at `expires_at`; kind
    "remember" is the 30-day "keep me logged in" key, which starts new sessions and is rotated
    each time it does.
    """

    __tablename__ = "sign_in_sessions"
    __table_args__ = (
        CheckConstraint("kind IN ('session', 'remember')", name="known_kind"),
        NOT_ON_PUBLIC_PAGES,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="session")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The remember row a session came from (or was started with): logout ends both.
    remember_id: Mapped[int | None] = mapped_column(
        ForeignKey("sign_in_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the password or a second factor was last checked (re-authentication).
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(64))
    browser: Mapped[str | None] = mapped_column(String(120))
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(40), default="password")


class RecoveryCode(db.Model):
    """A single-use recovery code for the second factor, stored hashed."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
