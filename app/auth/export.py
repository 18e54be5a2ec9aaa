"""The personal data export: what the system holds about one person."""

from sqlalchemy import or_, select

from app.api.models import ApiToken
from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.mail import OutboxMessage
from app.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user: User) -> dict:
    """A machine-readable copy of the person's data."""
    audits = db.session.scalars(
        select(AuditEntry)
        .where(or_(AuditEntry.subject_user_id == user.id, AuditEntry.actor_id == user.id))
        .order_by(AuditEntry.at)
    )
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
    from app.api.export import personal_data as app_data  # apps signed in through the API
    from app.auth.access import personal_data as sign_in_security_data  # sessions, TOTP
    from app.auth.sign_in_export import personal_data as sign_in_data  # passkeys, providers
    from app.checkin.export import personal_data as door_data  # the door's part
    from app.events.export import personal_data as events_data  # the events domain's part
    from app.forms.export import personal_data as forms_data  # answers to forms and surveys
    from app.inbox.export import personal_data as inbox_data  # the inbox's part
    from app.insights.export import personal_data as insights_data  # public charts chosen
    from app.members.export import personal_data as members_data  # the members domain's part
    from app.news.export import personal_data as news_data  # posts and pages
    from app.news.newsletter_export import personal_data as newsletter_data  # newsletters
    from app.polls.export import personal_data as polls_data  # the polls domain's part
    from app.webhooks.export import personal_data as webhooks_data  # endpoints registered

    return {
        **events_data(user),
        **door_data(user),
        **members_data(user),
        **polls_data(user),
        **newsletter_data(user),
        **news_data(user),
        **inbox_data(user),
        **forms_data(user),
        **sign_in_data(user),
        **sign_in_security_data(user),
        **app_data(user),
        **webhooks_data(user),
        **insights_data(user),
        "account": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "language": user.locale,
            "email_verified_at": _iso(user.email_verified_at),
            "privacy_accepted_at": _iso(user.privacy_accepted_at),
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "roles": sorted(user.role_names),
            "has_profile_image": bool(user.avatar_key),
        },
        "api_tokens": [
            {
                "name": t.name,
                "starts_with": t.prefix,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
        "emails": [
            {
                "template": m.template,
                "state": m.state,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in mails
        ],
        "audit": [
            {
                "at": _iso(a.at),
                "action": a.action,
                "object": a.object_type,
                "object_id": a.object_id,
                "by_me": a.actor_id == user.id,
            }
            for a in audits
        ],
    }
