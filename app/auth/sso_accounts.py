"""Accounts and single sign-on identities: sign in, create, link (with the password) and unlink."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth import services
from app.auth.models import User
from app.auth.sign_in_methods import NO_PASSWORD, other_sign_in_methods
from app.auth.sign_in_models import SignInIdentity
from app.auth.sso import Profile, label
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.extensions import db


def find_identity(provider: str, subject: str) -> SignInIdentity | None:
    """The identity linked to this provider account, if any."""
    return db.session.scalar(
        select(SignInIdentity).where(
            SignInIdentity.provider == provider, SignInIdentity.subject == subject
        )
    )


def identities_of(user: User) -> list[SignInIdentity]:
    """The user's linked provider accounts, oldest first."""
    return list(
        db.session.scalars(
            select(SignInIdentity)
            .where(SignInIdentity.user_id == user.id)
            .order_by(SignInIdentity.id)
        )
    )


def sign_in_with(identity: SignInIdentity) -> User:
    """The first factor passed through a linked provider: the user, audited like a login."""
    user = identity.user
    if not user.is_active:
        raise services.LoginFailed(_l("This account is closed."), reason="closed")
    now = utcnow()
    identity.last_used_at = now
    user.last_login_at = now
    audit.record(
        "auth.login",
        "user",
        user.id,
        after={"method": f"oauth:{identity.provider}"},
        actor_id=user.id,
        subject_user_id=user.id,
    )
    return user


def link(user: User, profile: Profile) -> SignInIdentity:
    """Link a provider account to the user (once; another user's link is refused)."""
    existing = find_identity(profile.provider, profile.subject)
    if existing is not None:
        if existing.user_id != user.id:
            raise DomainError(_already_linked(profile.provider))
        return existing
    identity = SignInIdentity(
        provider=profile.provider,
        subject=profile.subject,
        user_id=user.id,
        email=profile.email,
        last_used_at=utcnow(),
    )
    if not add_once(identity):  # linked at the same moment by another request
        existing = find_identity(profile.provider, profile.subject)
        if existing is None or existing.user_id != user.id:
            raise DomainError(_already_linked(profile.provider))
        return existing
    audit.record(
        "auth.provider_linked",
        "sign_in_identity",
        identity.id,
        after={"provider": profile.provider},
        actor_id=user.id,
        subject_user_id=user.id,
    )
    return identity


def _already_linked(provider: str):
    return _l(
        "This %(provider)s account is already linked to another account here.",
        provider=label(provider),
    )


def require_verified_email(profile: Profile) -> str:
    """The profile's address, when the provider says it is verified; refused otherwise."""
    if not profile.email or not profile.email_verified:
        raise DomainError(
            _l(
                "%(provider)s has not confirmed your e-mail address, so we cannot use it to "
                "create or find your account. Confirm the address at %(provider)s first, or "
                "sign up with your e-mail address here.",
                provider=label(profile.provider),
            )
        )
    return profile.email


def create_account(profile: Profile, name: str, locale: str, accepted_privacy: bool) -> User | None:
    """A new, verified account from the provider's verified address, linked to the provider.

    None when an account with the address appeared meanwhile (the caller asks for its password).
    """
    email = require_verified_email(profile)
    if not accepted_privacy:
        raise DomainError(_l("You must accept the privacy policy."), field="accept_privacy")
    now = utcnow()
    user = User(
        name=" ".join(name.split())[:200],
        email=email,
        password_hash=NO_PASSWORD,
        locale=locale,
        email_verified_at=now,
        privacy_accepted_at=now,
        last_login_at=now,
    )
    if not add_once(user):
        return None
    audit.record(
        "user.created",
        "user",
        user.id,
        after={"method": f"oauth:{profile.provider}"},
        actor_id=user.id,
        subject_user_id=user.id,
    )
    link(user, profile)
    return user


def confirm_link(profile: Profile, password: str, address: str) -> User:
    """The owner of the existing account with the provider's address proves it with the password;
    then the provider is linked. Failures count towards the login lockout."""
    email = require_verified_email(profile)
    try:
        user = services.authenticate(email, password, address)
    except services.NotVerified:
        # The password matched; the provider has just vouched for the address as well.
        user = services.find_user_by_email(email)
        user.email_verified_at = utcnow()
        audit.record("user.verified", "user", user.id, actor_id=user.id, subject_user_id=user.id)
    link(user, profile)
    return user


def existing_account(profile: Profile) -> User | None:
    """The account that already uses the profile's address."""
    return services.find_user_by_email(profile.email) if profile.email else None


def unlink(user: User, identity_id: int) -> None:
    """Unlink one of my provider accounts while another way to sign in remains."""
    identity = db.session.get(SignInIdentity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound(_l("No such sign-in provider."))
    if not other_sign_in_methods(user, identity=identity):
        raise DomainError(
            _l(
                "This is your only way to sign in. Set a password or add a passkey before "
                "unlinking %(provider)s.",
                provider=label(identity.provider),
            )
        )
    audit.record(
        "auth.provider_unlinked",
        "sign_in_identity",
        identity.id,
        before={"provider": identity.provider},
        subject_user_id=user.id,
    )
    db.session.delete(identity)
    db.session.flush()
