"""Ways to sign in besides the password: passkeys and single sign-on identities (issue 10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.page_cache import NOT_ON_PUBLIC_PAGES
from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

PROVIDERS = ("github", "google", "discord", "oidc")


class Passkey(db.Model):
    """A WebAuthn credential (a passkey) registered by a user."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The credential id as the browser sends it (base64url), unique across all users.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The authenticator's signature counter (unsigned 32 bits); 0 for authenticators without one.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # The WebAuthn user handle given at registration: an assertion naming another is refused.
    user_handle: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str | None] = mapped_column(String(36))
    transports: Mapped[list | None] = mapped_column(JSON)
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class PasskeyChallenge(db.Model):
    """An issued WebAuthn challenge; deleting the row is what uses it up (once, before expiry)."""

    __tablename__ = "passkey_challenges"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('register', 'second_factor', 'sign_in')", name="known_purpose"
        ),
        NOT_ON_PUBLIC_PAGES,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the challenge, hex: the challenge itself travels only to the browser.
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    # The account a registration or second-factor challenge is for. Not a foreign key: the row
    # lives five minutes, is looked up by its hash only, and holds nothing else about anyone.
    user_id: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignInIdentity(db.Model):
    """An account at a single sign-on provider, linked to a user."""

    __tablename__ = "sign_in_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_sign_in_identities_provider_subject"),
        CheckConstraint(
            f"provider IN ({', '.join(repr(p) for p in PROVIDERS)})", name="known_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    # The provider's stable id for the person (OIDC `sub`, GitHub/Discord user id).
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))  # as the provider said at link time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
