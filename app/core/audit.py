"""The audit log: who changed what, when, from which address, with the values before and after;
and the security events: logins, failed logins, logouts and refused access."""

import logging
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

log = logging.getLogger(__name__)

# Security events, named for the staff audit page (other actions are shown by their code).
ACTION_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed login"),
    "auth.logout": _l("Logged out"),
    "access.refused": _l("Access refused"),
    "auth.passkey_added": _l("Passkey added"),
    "auth.passkey_renamed": _l("Passkey renamed"),
    "auth.passkey_removed": _l("Passkey removed"),
    "auth.provider_linked": _l("Sign-in provider linked"),
    "auth.provider_unlinked": _l("Sign-in provider unlinked"),
}
FAILURE_LABELS = {
    "password": _l("wrong password"),
    "unknown_account": _l("no account with that address"),
    "closed": _l("closed account"),
    "not_verified": _l("address not confirmed"),
    "locked_out": _l("locked out after repeated failures"),
    "second_factor": _l("wrong second-factor code"),
}


class AuditEntry(db.Model):
    """One audited change."""

    __tablename__ = "audit_entries"
    # The record pages read the trail of one object (a membership, an event) by type and id.
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int | None] = mapped_column(Integer)
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The client's address (after ProxyFix); None for work done by jobs and commands.
    address: Mapped[str | None] = mapped_column(String(45))

    # Every entry is shown as a sentence naming both: loaded with it.
    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    subject_user = relationship("User", foreign_keys=[subject_user_id], lazy="joined")

    @property
    def label(self) -> str:
        """The action's readable name (security events) or its code."""
        return action_label(self.action)

    @property
    def detail(self) -> str | None:
        """A readable line for a security event; None for changes (shown as before/after)."""
        after = self.after or {}
        if self.action == "auth.login_failed":
            reason = str(FAILURE_LABELS.get(after.get("reason"), after.get("reason") or ""))
            if after.get("email_hash"):
                # The same unknown address gives the same key, so repeated tries can be seen.
                key_label = _l("key")
                reason += f" ({key_label} {after['email_hash'][:12]})"
            return reason
        if self.action == "access.refused":
            text = f"{after.get('method', '')} {after.get('path', '')}".strip()
            if after.get("token"):
                token_label = _l("API token")
                text += f" ({token_label} {after['token']}…)"
            return text
        return None


def record(
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
    subject_user_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; the actor defaults to the signed-in user."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    entry = AuditEntry(
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        actor_id=actor_id,
        subject_user_id=subject_user_id,
        address=((request.remote_addr or "")[:45] or None) if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def action_label(action: str) -> str:
    """A readable name for a security event; other actions keep their code."""
    return str(ACTION_LABELS.get(action, action))


def _path_without_secrets() -> str:
    """The request's route with its numeric ids filled in; other parts (a ticket code, a token)
    stay placeholders, so that no secret from a URL lands in the log."""
    rule = request.url_rule
    if rule is None:
        return request.path
    path = rule.rule
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int):
            path = path.replace(f"<int:{name}>", str(value))
    return path


def record_refusal(actor_id: int | None = None, **detail: Any) -> None:
    """Record a refused request (403) in a transaction of its own.

    The request's unfinished work is rolled back first, so that only the entry is committed; a
    failure to write it never turns the refusal into an error page.
    """
    try:
        db.session.rollback()
        after = {"method": request.method, "path": _path_without_secrets()[:200], **detail}
        record("access.refused", "request", None, after=after, actor_id=actor_id)
        db.session.commit()
    except Exception:
        log.warning("Could not record a refused request in the audit log", exc_info=True)
        db.session.rollback()
