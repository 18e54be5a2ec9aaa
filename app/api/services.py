"""Creating, revoking and checking API tokens."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.api.models import PREFIX_LENGTH, ApiToken, hash_key
from app.auth.models import User
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.timeutil import utcnow
from app.extensions import db

LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_token(user: User, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """A new token for the user; the plain key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the token a name."), field="name")
    key = ApiToken.generate()
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        created_by_id=created_by.id if created_by else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.created",
        "api_token",
        token.id,
        after={"name": token.name},
        actor_id=created_by.id if created_by else user.id,
        subject_user_id=user.id,
    )
    return token, key


def revoke_token(token_id: int, actor: User) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "token.revoked", "api_token", token.id, actor_id=actor.id, subject_user_id=token.user_id
        )
    return token


def token_user(key: str) -> User | None:
    """The active user behind a valid, unrevoked token; records its use (once a minute)."""
    # One query for the token, its user and the user's roles (every API request asks for them).
    token = (
        db.session.execute(
            select(ApiToken)
            .options(joinedload(ApiToken.user).joinedload(User.roles))
            .where(ApiToken.key_hash == hash_key(key))
        )
        .unique()
        .scalar_one_or_none()
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return token.user
