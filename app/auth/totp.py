"""TOTP second factor (pyotp) and recovery codes: services flush, routes commit."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import RecoveryCode, User
from app.core import audit
from app.core.crypto import decrypt, encrypt
from app.core.errors import DomainError
from app.core.timeutil import utcnow
from app.extensions import db

RECOVERY_CODES = 10
STEP_SECONDS = 30


def _now() -> float:
    return utcnow().timestamp()


def secret_of(user: User) -> str | None:
    return decrypt(user.totp_secret) if user.totp_secret else None


def start_setup(user: User) -> str:
    """The unconfirmed secret to show (a new one unless setup already began)."""
    if user.totp_confirmed_at is not None:
        raise DomainError(_l("Your authenticator app is set up already."))
    secret = secret_of(user)
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = encrypt(secret)
        db.session.flush()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["ORGANISATION_NAME"]
    )


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (a data: URI, allowed by the CSP's img-src)."""
    import qrcode  # with its SVG writer (lxml) and Pillow: loaded on the setup page only
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step (±1 around now) whose code this is, or None."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at // STEP_SECONDS)
    for step in (now_step - 1, now_step, now_step + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _accept_step(user: User, step: int) -> bool:
    """Record the step as used, unless it (or a later one) was used already: one use per code,
    even for two requests at once (a conditional UPDATE)."""
    users = User.__table__  # a plain UPDATE: the ORM's bulk-update machinery is not needed here
    accepted = db.session.execute(
        update(users)
        .where(
            users.c.id == user.id,
            (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    ).rowcount
    if accepted:
        set_committed_value(user, "totp_last_step", step)  # written already: no second UPDATE
    return accepted == 1


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn TOTP on with a first code; returns the ten recovery codes (shown once)."""
    secret = secret_of(user)
    if secret is None or user.totp_confirmed_at is not None:
        raise DomainError(_l("Start the setup again."), field="code")
    step = _matching_step(secret, _clean(code), _now())
    if step is None or not _accept_step(user, step):
        raise DomainError(_l("That code is not right. Try the current code."), field="code")
    user.totp_confirmed_at = utcnow()
    codes = new_recovery_codes(user)
    audit.record("user.totp_enabled", "user", user.id, subject_user_id=user.id)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the plain codes are returned once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash_code(user, code)) for code in codes
    )
    db.session.flush()
    return codes


def _hash_code(user: User, code: str) -> str:
    # Recovery codes are 64 random bits: a keyed fast hash is enough (they are also single use).
    return hashlib.sha256(f"{user.id}:{_clean(code)}".encode()).hexdigest()


def remaining_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(user, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1


def verify_code(user: User, code: str) -> str:
    """Check a TOTP code or a recovery code: "totp" or "recovery"; DomainError when wrong."""
    secret = secret_of(user) if user.totp_confirmed_at is not None else None
    cleaned = _clean(code)
    if secret is not None:
        step = _matching_step(secret, cleaned, _now())
        if step is not None and _accept_step(user, step):
            return "totp"
    if len(cleaned) == 16 and _use_recovery_code(user, cleaned):
        audit.record("user.recovery_code_used", "user", user.id, subject_user_id=user.id)
        return "recovery"
    raise DomainError(_l("That code is not right, or it was used already."), field="code")


def disable(user: User) -> None:
    """Turn TOTP off: the secret and recovery codes go."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("user.totp_disabled", "user", user.id, subject_user_id=user.id)


def current_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator shows now (tests and the benchmark)."""
    return pyotp.TOTP(secret).at(int(at if at is not None else time.time()))
