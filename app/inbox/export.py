"""The inbox's part of the personal data export, and its erasure with the person.

A person's conversations are those linked to their account and contact-form submissions sent
from their address. Internal notes are included in the export, as the members domain does with
staff notes: they are data about the person (GDPR art. 15); their authors are left out.
"""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.extensions import db
from app.inbox.models import Conversation, ConversationMessage


def _iso(value):
    return value.isoformat() if value else None


def _of_person(user_id: int, email: str):
    return or_(
        Conversation.user_id == user_id,
        (Conversation.user_id.is_(None)) & (func.lower(Conversation.email) == email.lower()),
    )


def personal_data(user: User) -> dict:
    """The person's conversations with their messages."""
    conversations = db.session.scalars(
        select(Conversation)
        .where(_of_person(user.id, user.email))
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.id)
    ).all()
    return {
        "conversations": [
            {
                "id": c.id,
                "subject": c.subject,
                "state": c.state,
                "name": c.name,
                "email": c.email,
                "created_at": _iso(c.created_at),
                "messages": [
                    {
                        "kind": m.kind,
                        "from_staff": m.from_staff,
                        "body": m.body,
                        "at": _iso(m.created_at),
                    }
                    for m in c.messages
                ],
            }
            for c in conversations
        ]
    }


def forget_person(user_id: int, email: str) -> int:
    """Delete the person's conversations (their messages and notes go with them); how many."""
    ids = db.session.scalars(select(Conversation.id).where(_of_person(user_id, email))).all()
    if ids:
        # Messages first: SQLite enforces ON DELETE CASCADE only with its foreign-key pragma.
        db.session.execute(
            delete(ConversationMessage)
            .where(ConversationMessage.conversation_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            delete(Conversation)
            .where(Conversation.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)
