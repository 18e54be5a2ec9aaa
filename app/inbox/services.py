"""The inbox's logic: contact submissions and their spam rules, messages, replies, notes, states,
assignees and the unread counts. Services flush and never commit."""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ScalarSelect, Select, func, or_, select

from app.auth.models import User, UserRole
from app.core import audit, glance
from app.core.errors import DomainError
from app.core.http import absolute_url
from app.core.mail import queue_mail
from app.core.text import LIKE_ESCAPE, contains_pattern
from app.core.timeutil import utcnow
from app.core.unique import add_once
from app.extensions import db
from app.inbox.models import STATES, Conversation, ConversationMessage

STAFF_ROLES = ("membership", "admin")
ACTIVE_STATES = ("new", "open", "waiting")
# A person needs a few seconds to fill in the form; a script posts at once.
DEFAULT_MIN_SECONDS = 3


# --- The contact form's token: when the form was shown, and a one-time key -------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="contact-form")


def contact_token() -> str:
    """A signed token for a new contact form: the time it was shown and a one-time key."""
    return _serializer().dumps({"t": utcnow().timestamp(), "k": secrets.token_hex(16)})


def read_contact_token(token: str | None) -> tuple[float, str] | None:
    """The (shown at, key) in a genuine token; None for a missing or forged one."""
    try:
        value = _serializer().loads(token or "")
    except BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    shown_at, key = value.get("t"), value.get("k")
    if not isinstance(shown_at, int | float) or not isinstance(key, str) or len(key) != 32:
        return None
    return float(shown_at), key


def spam_reason(token: tuple[float, str] | None, honeypot: str) -> str | None:
    """Why a submission looks like spam (honeypot, no_token, too_fast), or None."""
    if honeypot.strip():
        return "honeypot"
    if token is None:
        return "no_token"
    min_seconds = current_app.config.get("CONTACT_MIN_SECONDS", DEFAULT_MIN_SECONDS)
    if utcnow().timestamp() - token[0] < min_seconds:
        return "too_fast"
    return None


def _add_message(
    conversation: Conversation, body: str, author: User | None, from_staff: bool, kind="message"
) -> ConversationMessage:
    message = ConversationMessage(
        kind=kind, body=body.strip(), author=author, from_staff=from_staff, created_at=utcnow()
    )
    conversation.messages.append(message)
    if kind == "message":
        conversation.last_message_at = message.created_at
    return message


def submit_contact(
    name: str,
    email: str,
    subject: str,
    body: str,
    locale: str,
    token: str | None,
    honeypot: str = "",
    user: User | None = None,
) -> Conversation:
    """A contact-form submission; suspected spam goes to the spam folder (kept, not deleted).

    The form's one-time key makes a double submit return the conversation the first one made.
    """
    parsed = read_contact_token(token)
    key = parsed[1] if parsed else None
    if key is not None:
        existing = db.session.scalar(select(Conversation).filter_by(submission_key=key))
        if existing is not None:
            return existing
    reason = spam_reason(parsed, honeypot)
    conversation = Conversation(
        origin="contact",
        subject=subject.strip()[:200],
        state="spam" if reason else "new",
        spam_reason=reason,
        user=user,
        name=name.strip()[:200],
        email=email.strip()[:320],
        locale=locale,
        submission_key=key,
        unread_by_staff=reason is None,
        created_at=utcnow(),
    )
    _add_message(conversation, body, user, from_staff=False)
    if not add_once(conversation):
        # The same form sent twice at once: the other request's conversation stands.
        return db.session.scalar(select(Conversation).filter_by(submission_key=key))
    if reason is None:
        # No confirmation to suspected spam: that would make the form a way to send mail.
        queue_mail(
            conversation.email,
            "inbox_received",
            locale,
            {"name": conversation.name, "subject_text": conversation.subject, "body": body},
            key=f"inbox-received:{conversation.id}",
            user_id=user.id if user else None,
        )
    return conversation


# --- Members and staff writing -----------------------------------------------------------------


def start_from_member(user: User, subject: str, body: str) -> Conversation:
    """A member writes to the association."""
    conversation = Conversation(
        origin="member",
        subject=subject.strip()[:200],
        state="new",
        user=user,
        name=user.name,
        email=user.email,
        locale=user.locale,
        unread_by_staff=True,
        created_at=utcnow(),
    )
    _add_message(conversation, body, user, from_staff=False)
    db.session.add(conversation)
    db.session.flush()
    return conversation


def reply_from_person(conversation: Conversation, user: User, body: str) -> ConversationMessage:
    """The person answers in their conversation; a closed one opens again."""
    if conversation.user_id != user.id:
        raise DomainError(_l("This conversation is not yours."))
    if conversation.state == "spam":
        raise DomainError(_l("This conversation is closed."))
    message = _add_message(conversation, body, user, from_staff=False)
    conversation.unread_by_staff = True
    if conversation.state in ("waiting", "closed"):
        conversation.state = "open"
    db.session.flush()
    return message


def _send_reply(conversation: Conversation, message: ConversationMessage) -> None:
    url = None
    if conversation.user_id is not None:
        url = absolute_url("inbox.conversation", conversation_id=conversation.id)
    queue_mail(
        conversation.user.email if conversation.user else conversation.email,
        "inbox_reply",
        conversation.recipient_locale,
        {
            "name": conversation.user.name if conversation.user else conversation.name,
            "subject_text": conversation.subject,
            "body": message.body,
            "url": url,
        },
        key=f"inbox-reply:{message.id}",
        user_id=conversation.user_id,
    )


def write_to_member(staff: User, person: User, subject: str, body: str) -> Conversation:
    """Staff write to a member from the member's record; the message goes out by e-mail."""
    conversation = Conversation(
        origin="staff",
        subject=subject.strip()[:200],
        state="waiting",
        user=person,
        name=person.name,
        email=person.email,
        locale=person.locale,
        assignee=staff,
        unread_by_staff=False,
        unread_by_person=True,
        created_at=utcnow(),
    )
    message = _add_message(conversation, body, staff, from_staff=True)
    db.session.add(conversation)
    db.session.flush()
    _send_reply(conversation, message)
    audit.record(
        "inbox.written",
        "conversation",
        conversation.id,
        after={"origin": "staff"},
        actor_id=staff.id,
        subject_user_id=person.id,
    )
    return conversation


def reply_from_staff(conversation: Conversation, staff: User, body: str) -> ConversationMessage:
    """A staff reply: e-mailed in the person's language, shown in their messages; the
    conversation then waits for the person."""
    if conversation.state == "spam":
        raise DomainError(_l("Move the conversation out of spam before replying."))
    message = _add_message(conversation, body, staff, from_staff=True)
    conversation.unread_by_person = conversation.user_id is not None
    conversation.unread_by_staff = False
    if conversation.state != "waiting":
        set_state(conversation, "waiting", staff)
    db.session.flush()
    _send_reply(conversation, message)
    return message


def add_note(conversation: Conversation, staff: User, body: str) -> ConversationMessage:
    """An internal note: staff see it, the person never does."""
    message = _add_message(conversation, body, staff, from_staff=True, kind="note")
    db.session.flush()
    return message


def set_state(conversation: Conversation, state: str, actor: User) -> None:
    """Move the conversation to a state (audited)."""
    if state not in STATES:
        raise DomainError(_l("Unknown state."), field="state")
    if state == conversation.state:
        return
    before = conversation.state
    conversation.state = state
    if state == "spam":
        conversation.unread_by_staff = False
    audit.record(
        "inbox.state",
        "conversation",
        conversation.id,
        {"state": before},
        {"state": state},
        actor_id=actor.id,
        subject_user_id=conversation.user_id,
    )
    db.session.flush()


def staff_users() -> list[User]:
    """The people who can be assigned a conversation (membership staff and admins)."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_(STAFF_ROLES), User.is_active_account.is_(True))
            .distinct()
            .order_by(User.name, User.id)
        )
    )


def assign(conversation: Conversation, assignee_id: int | None, actor: User) -> None:
    """Give the conversation to a staff member, or to nobody (audited)."""
    if assignee_id is not None and assignee_id not in {u.id for u in staff_users()}:
        raise DomainError(_l("Choose a member of staff."), field="assignee")
    if assignee_id == conversation.assignee_id:
        return
    before = conversation.assignee_id
    conversation.assignee_id = assignee_id
    audit.record(
        "inbox.assigned",
        "conversation",
        conversation.id,
        {"assignee_id": before},
        {"assignee_id": assignee_id},
        actor_id=actor.id,
        subject_user_id=conversation.user_id,
    )
    db.session.flush()


def opened_by_staff(conversation: Conversation) -> None:
    """Staff have read the conversation; a new one becomes open."""
    conversation.unread_by_staff = False
    if conversation.state == "new":
        conversation.state = "open"
    db.session.flush()


def opened_by_person(conversation: Conversation) -> None:
    """The person has read the staff's replies."""
    if conversation.unread_by_person:
        conversation.unread_by_person = False
        db.session.flush()


# --- Reading -----------------------------------------------------------------------------------


@glance.item("unread_conversations")
def person_unread_count(user_id, now=None) -> ScalarSelect:
    """Conversations with a reply the person has not read (one indexed count; the navigation's
    badge, read with the other numbers of app/core/glance.py)."""
    return (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.user_id == user_id, Conversation.unread_by_person.is_(True))
        .scalar_subquery()
    )


def staff_unread_count() -> int:
    """Conversations with something staff have not read, spam left out (one indexed count)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.unread_by_staff.is_(True), Conversation.state != "spam")
    )


def conversations_of(user_id: int) -> list[Conversation]:
    """The person's conversations, latest first (spam left out)."""
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.user_id == user_id, Conversation.state != "spam")
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        )
    )


def search(state: str | None, assignee: str | None, query: str, me_id: int) -> Select:
    """The staff list: by state ("active" = new, open, waiting), by assignee ("me", "none" or
    an id), and by words in the subject, name or address (taken literally)."""
    stmt = select(Conversation)
    if state in STATES:
        stmt = stmt.where(Conversation.state == state)
    elif state != "all":
        stmt = stmt.where(Conversation.state.in_(ACTIVE_STATES))
    if assignee == "me":
        stmt = stmt.where(Conversation.assignee_id == me_id)
    elif assignee == "none":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif assignee and assignee.isdigit():
        stmt = stmt.where(Conversation.assignee_id == int(assignee))
    if query:
        pattern = contains_pattern(query)
        stmt = stmt.where(
            or_(
                Conversation.subject.ilike(pattern, escape=LIKE_ESCAPE),
                Conversation.name.ilike(pattern, escape=LIKE_ESCAPE),
                Conversation.email.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
