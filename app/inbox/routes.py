"""The inbox for people: the contact form (/contact) and my messages (/account/messages)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.ratelimit import rate_limited
from app.extensions import db
from app.inbox import services
from app.inbox.forms import ContactForm, NewMessageForm, ReplyForm
from app.inbox.models import Conversation

bp = Blueprint("inbox", __name__)


@bp.app_context_processor
def unread_counts():
    # Callables: a page pays for the count only where the navigation shows it.
    return {
        "inbox_staff_unread": services.staff_unread_count,
    }


def _contact_limit() -> str:
    return current_app.config.get("CONTACT_RATE_LIMIT", "5 per hour")


@bp.route("/contact", methods=["GET", "POST"])
@rate_limited(_contact_limit, methods=("POST",))
def contact():
    """The contact form, open to anyone."""
    form = ContactForm()
    if form.validate_on_submit():
        user = current_user._get_current_object() if current_user.is_authenticated else None
        services.submit_contact(
            form.name.data,
            form.email.data,
            form.subject.data,
            form.message.data,
            str(get_locale()),
            form.token.data,
            form.website.data or "",
            user,
        )
        commit()
        # The same answer for suspected spam: a script learns nothing from it.
        flash(_("Thank you. Your message has reached us; we sent you a confirmation."), "success")
        return redirect(url_for("inbox.contact"))
    if not form.is_submitted():
        if current_user.is_authenticated:
            form.name.data, form.email.data = current_user.name, current_user.email
    if not form.token.data:
        form.token.data = services.contact_token()
    return render_template("inbox/contact.html", form=form)


def _message_limit() -> str:
    return current_app.config.get("MESSAGE_RATE_LIMIT", "20 per hour")


def _me() -> str:
    return f"user:{current_user.id}"


@bp.route("/account/messages", methods=["GET", "POST"])
@login_required
@rate_limited(_message_limit, key=_me, scope="inbox-messages", methods=("POST",))
def messages():
    """My conversations with the association, and a form to write a new one."""
    form = NewMessageForm()
    if form.validate_on_submit():
        conversation = services.start_from_member(
            current_user._get_current_object(), form.subject.data, form.message.data
        )
        commit()
        flash(_("Your message is sent."), "success")
        return redirect(url_for("inbox.conversation", conversation_id=conversation.id))
    return render_template(
        "inbox/messages.html",
        form=form,
        conversations=services.conversations_of(current_user.id),
    )


def _mine_or_404(conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    # Someone else's conversation is answered as one that does not exist.
    if conversation is None or conversation.user_id != current_user.id:
        abort(404)
    if conversation.state == "spam":
        abort(404)
    return conversation


@bp.route("/account/messages/<int:conversation_id>", methods=["GET", "POST"])
@login_required
@rate_limited(_message_limit, key=_me, scope="inbox-messages", methods=("POST",))
def conversation(conversation_id: int):
    """One conversation: the messages both ways (never the staff's notes), and a reply form."""
    conversation = _mine_or_404(conversation_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            services.reply_from_person(
                conversation, current_user._get_current_object(), form.message.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("Your reply is sent."), "success")
            return redirect(url_for("inbox.conversation", conversation_id=conversation.id))
    if conversation.unread_by_person:
        services.opened_by_person(conversation)
        commit()
    shown = [m for m in conversation.messages if m.kind == "message"]
    return render_template(
        "inbox/conversation.html", conversation=conversation, messages=shown, form=form
    )
