"""Passkeys (WebAuthn): registration, second factor and passwordless sign-in ceremonies.

Each ceremony starts with a challenge that the browser's session holds and a row in
`passkey_challenges` records (hashed); the row is deleted when the answer comes back, so a
challenge is used at most once, and only before it expires. The relying party is BASE_URL: its host
is the RP ID and its scheme, host and port the only origin accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from app.auth.models import User
from app.auth.sign_in_models import Passkey, PasskeyChallenge
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.timeutil import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# The webauthn package (with cryptography's x509) is imported by the ceremonies alone: a web
# worker that never sees a passkey does not carry it (issue 13).

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_PASSKEYS = 20
NAME_MAX = 100
PURPOSES = ("register", "second_factor", "sign_in")


class PasskeyFailed(DomainError):
    """A passkey ceremony that did not succeed."""

    status = 400
    code = "passkey_failed"


def relying_party() -> tuple[str, str]:
    """The RP ID (BASE_URL's host) and the one origin accepted (BASE_URL's scheme, host, port)."""
    parts = urlsplit(current_app.config["BASE_URL"])
    host = (parts.hostname or "").lower()
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return host, origin


def passkeys_of(user: User) -> list[Passkey]:
    """The user's passkeys, oldest first."""
    return list(
        db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id))
    )


def _user_handle(user: User) -> bytes:
    """A stable, opaque WebAuthn user id (no e-mail or database id in it)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"webauthn-user:{user.id}".encode(), hashlib.sha256).digest()


def _challenge_hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _issue_challenge(purpose: str, user_id: int | None) -> bytes:
    now = utcnow()
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
    challenge = secrets.token_bytes(32)
    db.session.add(
        PasskeyChallenge(
            challenge_hash=_challenge_hash(challenge),
            purpose=purpose,
            user_id=user_id,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    db.session.flush()
    return challenge


def use_challenge(challenge: bytes | None, purpose: str, user_id: int | None) -> None:
    """Use up an issued challenge; refused when unknown, expired, already used or someone else's."""
    if not challenge:
        raise PasskeyFailed(_l("This passkey request has expired. Try again."))
    condition = [
        PasskeyChallenge.challenge_hash == _challenge_hash(challenge),
        PasskeyChallenge.purpose == purpose,
        PasskeyChallenge.expires_at > utcnow(),
    ]
    if user_id is not None:
        condition.append(PasskeyChallenge.user_id == user_id)
    result = db.session.execute(
        delete(PasskeyChallenge).where(*condition).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise PasskeyFailed(_l("This passkey request has expired. Try again."))


def discard_challenge(challenge: bytes | None) -> None:
    """Forget a challenge whose ceremony failed, so that it cannot be tried again."""
    if challenge:
        db.session.execute(
            delete(PasskeyChallenge)
            .where(PasskeyChallenge.challenge_hash == _challenge_hash(challenge))
            .execution_options(synchronize_session=False)
        )


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in (p.transports or []) if t in known],
        )
        for p in passkeys
    ]


def registration_options(user: User) -> tuple[str, bytes]:
    """Options for navigator.credentials.create() (JSON) and the challenge they carry."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    existing = passkeys_of(user)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyFailed(
            _l("You have as many passkeys as an account can have. Remove one first.")
        )
    rp_id, _origin = relying_party()
    challenge = _issue_challenge("register", user.id)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=current_app.config["ORGANISATION_NAME"],
        user_name=user.email,
        user_id=_user_handle(user),
        user_display_name=user.name,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return options_to_json(options), challenge


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise DomainError(_l("Use at most %(n)d characters.", n=NAME_MAX), field="name")
    return name


def add_passkey(user: User, credential: Any, challenge: bytes | None, name: str | None) -> Passkey:
    """Check the browser's answer to a registration challenge and keep the new passkey."""
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    name = _clean_name(name)
    use_challenge(challenge, "register", user.id)
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyFailed(_l("The passkey could not be registered. Try again.")) from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyFailed(_l("This passkey is registered already."))
    count = db.session.scalar(select(func.count(Passkey.id)).where(Passkey.user_id == user.id))
    transports = (
        credential.get("response", {}).get("transports") if isinstance(credential, dict) else None
    )
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=_user_handle(user),
        name=name or str(_l("Passkey %(n)d", n=count + 1)),
        aaguid=verified.aaguid,
        transports=[str(t)[:20] for t in transports][:8] if isinstance(transports, list) else None,
        backed_up=verified.credential_backed_up,
    )
    db.session.add(passkey)
    db.session.flush()
    audit.record(
        "auth.passkey_added",
        "passkey",
        passkey.id,
        after={"name": passkey.name},
        subject_user_id=user.id,
    )
    return passkey


def sign_in_options(user: User | None) -> tuple[str, bytes]:
    """Options for navigator.credentials.get(): the user's passkeys as a second factor, or any
    passkey of this site (discoverable, with user verification) for passwordless sign-in."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _origin = relying_party()
    if user is None:
        challenge = _issue_challenge("sign_in", None)
        options = generate_authentication_options(
            rp_id=rp_id,
            challenge=challenge,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    else:
        passkeys = passkeys_of(user)
        if not passkeys:
            raise PasskeyFailed(_l("You have no passkey yet."))
        challenge = _issue_challenge("second_factor", user.id)
        options = generate_authentication_options(
            rp_id=rp_id,
            challenge=challenge,
            allow_credentials=_descriptors(passkeys),
            user_verification=UserVerificationRequirement.PREFERRED,
        )
    return options_to_json(options), challenge


def verify_sign_in(credential: Any, challenge: bytes | None, user: User | None) -> Passkey:
    """Check an assertion: as the user's second factor, or (user None) passwordless sign-in,
    where the authenticator must have verified the person (PIN, fingerprint)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import parse_authentication_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    failed = _l("The passkey was not accepted. Try again or use another way to sign in.")
    use_challenge(challenge, "sign_in" if user is None else "second_factor", user and user.id)
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyFailed(failed) from exc
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == parsed.id))
    if passkey is None or (user is not None and passkey.user_id != user.id):
        raise PasskeyFailed(failed)
    handle = parsed.response.user_handle
    if handle is not None and not hmac.compare_digest(bytes(handle), passkey.user_handle):
        raise PasskeyFailed(failed)
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user is None,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyFailed(failed) from exc
    # The counter moves forward once: two answers with the same count (a cloned authenticator,
    # or a replay racing the original) cannot both pass.
    new_count = verified.new_sign_count
    counted = db.session.execute(
        update(Passkey)
        .where(
            Passkey.id == passkey.id,
            (Passkey.sign_count < new_count) if new_count else (Passkey.sign_count == 0),
        )
        .values(
            sign_count=new_count, last_used_at=utcnow(), backed_up=verified.credential_backed_up
        )
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise PasskeyFailed(failed)
    db.session.refresh(passkey)
    if not passkey.user.is_active:
        raise PasskeyFailed(_l("This account is closed."))
    return passkey


def _own_passkey(user: User, passkey_id: int) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise NotFound(_l("No such passkey."))
    return passkey


def rename_passkey(user: User, passkey_id: int, name: str) -> Passkey:
    """Give one of my passkeys a new name."""
    passkey = _own_passkey(user, passkey_id)
    name = _clean_name(name)
    if not name:
        raise DomainError(_l("Give the passkey a name."), field="name")
    before = passkey.name
    passkey.name = name
    audit.record(
        "auth.passkey_renamed",
        "passkey",
        passkey.id,
        before={"name": before},
        after={"name": name},
        subject_user_id=user.id,
    )
    return passkey


def remove_passkey(user: User, passkey_id: int) -> None:
    """Remove one of my passkeys, unless it is my last way to sign in."""
    from app.auth.sign_in_methods import other_sign_in_methods

    passkey = _own_passkey(user, passkey_id)
    if not other_sign_in_methods(user, passkey=passkey):
        raise DomainError(
            _l("This passkey is your only way to sign in. Set a password or add another first.")
        )
    audit.record(
        "auth.passkey_removed",
        "passkey",
        passkey.id,
        before={"name": passkey.name},
        subject_user_id=user.id,
    )
    db.session.delete(passkey)
    db.session.flush()
