"""Users and their staff roles."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    # Bumped when the password changes: sessions and remember-cookies of the old value end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    avatar_key: Mapped[str | None] = mapped_column(String(200))
    avatar_thumb_key: Mapped[str | None] = mapped_column(String(200))
    is_active_account: Mapped[bool] = mapped_column(default=True)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="UserRole.user_id",
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

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
