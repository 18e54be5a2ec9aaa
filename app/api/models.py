"""API tokens: shown once, stored hashed, revocable, last use recorded."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.page_cache import NOT_ON_PUBLIC_PAGES
from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

PREFIX_LENGTH = 8
# What a token may do (besides what its user's roles allow); stored space-separated.
SCOPES = ("members:read", "members:write", "checkin", "polls", "events")
ALL_SCOPES = " ".join(SCOPES)


def hash_key(key: str) -> str:
    """Tokens are long random values, so a fast hash is enough to keep them unusable if read."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(db.Model):
    """A token acting with its user's roles."""

    __tablename__ = "api_tokens"
    __table_args__ = (NOT_ON_PUBLIC_PAGES,)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(PREFIX_LENGTH))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(String(200), default=ALL_SCOPES, server_default=ALL_SCOPES)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @staticmethod
    def generate() -> str:
        return "flg_" + secrets.token_urlsafe(32)


class RefreshToken(db.Model):
    """An app's refresh token: opaque, stored hashed, used once; its family dies on reuse."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (NOT_ON_PUBLIC_PAGES,)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Every token rotated out of one sign-in shares its family; reuse of a dead one ends them all.
    family: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The user's session_version at sign-in: a password change ends the family.
    session_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
