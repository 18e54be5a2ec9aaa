"""Demo conversations: a contact-form question, one in the spam folder, and a member's message
answered by staff (with an internal note)."""

from __future__ import annotations

from app.auth.models import User
from app.extensions import db
from app.inbox import services
from app.inbox.models import Conversation, ConversationMessage


def _contact(subject: str, name: str, email: str, body: str, **fields) -> Conversation:
    conversation = Conversation(
        origin="contact", subject=subject, name=name, email=email, locale="da", **fields
    )
    conversation.messages.append(ConversationMessage(body=body))
    db.session.add(conversation)
    return conversation


def seed_inbox(staff: User, member: User) -> None:
    """A few conversations in the states the inbox shows first."""
    _contact(
        "Lokaleleje til fødselsdag",
        "Jens Hansen",
        "jens.hansen@example.dk",
        "Hej! Kan man leje jeres lokale en lørdag i marts?",
    )
    _contact(
        "Cheap watches",
        "Offers",
        "offers@example.com",
        "Best prices, click here.",
        state="spam",
        spam_reason="honeypot",
        unread_by_staff=False,
    )
    conversation = services.start_from_member(
        member, "Kontingent 2027", "Hvornår skal kontingentet for næste år være betalt?"
    )
    services.opened_by_staff(conversation)
    services.add_note(conversation, staff, "Bestyrelsen fastsætter datoen i januar.")
    services.reply_from_staff(conversation, staff, "Senest 31. januar. Du får en påmindelse.")
    db.session.flush()
