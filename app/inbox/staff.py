"""Staff pages of the inbox (role membership; admins too): the list, a conversation, writing to
a member."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.models import User
from app.core.errors import DomainError
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.inbox import services
from app.inbox.forms import AssignForm, NewMessageForm, NoteForm, ReplyForm, StateForm
from app.inbox.models import STATES, Conversation

# Nested under the staff blueprint by the factory: /staff/inbox/...
bp = Blueprint("inbox", __name__, url_prefix="/inbox")

STATE_LABELS = {
    "new": _l("New"),
    "open": _l("Open"),
    "waiting": _l("Waiting for reply"),
    "closed": _l("Closed"),
    "spam": _l("Spam"),
}
STATE_BADGES = {
    "new": "text-bg-primary",
    "open": "text-bg-info",
    "waiting": "text-bg-warning",
    "closed": "text-bg-secondary",
    "spam": "text-bg-danger",
}
SPAM_REASONS = {
    "honeypot": _l("a hidden field was filled in"),
    "too_fast": _l("sent faster than a person types"),
    "no_token": _l("sent without the form"),
}
ORIGIN_LABELS = {
    "contact": _l("Contact form"),
    "member": _l("From a member"),
    "staff": _l("From staff"),
}


@bp.app_context_processor
def inbox_labels():
    return {
        "inbox_state_labels": STATE_LABELS,
        "inbox_state_badges": STATE_BADGES,
        "inbox_origin_labels": ORIGIN_LABELS,
    }


@bp.get("/")
@roles_required("membership")
def conversations():
    query = request.args.get("q", "").strip()[:100]
    state = request.args.get("state") or "active"
    if state not in (*STATES, "active", "all"):
        state = "active"
    assignee = request.args.get("assignee") or ""
    page = db.paginate(
        services.search(state, assignee, query, current_user.id), per_page=25, error_out=False
    )
    return render_template(
        "staff/inbox/list.html",
        page=page,
        q=query,
        state=state,
        assignee=assignee,
        staff=services.staff_users(),
    )


def _forms(conversation: Conversation) -> dict:
    state_form = StateForm(state=conversation.state)
    state_form.state.choices = [(code, label) for code, label in STATE_LABELS.items()]
    assign_form = AssignForm(assignee=str(conversation.assignee_id or ""))
    assign_form.assignee.choices = [("", _("Nobody"))] + [
        (str(u.id), u.name) for u in services.staff_users()
    ]
    return {
        "reply_form": ReplyForm(prefix="reply"),
        "note_form": NoteForm(prefix="note"),
        "state_form": state_form,
        "assign_form": assign_form,
    }


def _page(conversation: Conversation, **forms):
    context = _forms(conversation)
    context.update(forms)
    return render_template(
        "staff/inbox/conversation.html",
        conversation=conversation,
        spam_reasons=SPAM_REASONS,
        **context,
    )


def _back(conversation: Conversation):
    return redirect(url_for("staff.inbox.conversation", conversation_id=conversation.id))


@bp.get("/<int:conversation_id>")
@roles_required("membership")
def conversation(conversation_id: int):
    conversation = db.get_or_404(Conversation, conversation_id)
    if conversation.unread_by_staff or conversation.state == "new":
        services.opened_by_staff(conversation)
        commit()
    return _page(conversation)


@bp.post("/<int:conversation_id>/reply")
@roles_required("membership")
def reply(conversation_id: int):
    conversation = db.get_or_404(Conversation, conversation_id)
    form = ReplyForm(prefix="reply")
    if not form.validate_on_submit():
        return _page(conversation, reply_form=form), 422
    try:
        services.reply_from_staff(
            conversation, current_user._get_current_object(), form.message.data
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back(conversation)
    commit()
    flash(_("The reply is sent."), "success")
    return _back(conversation)


@bp.post("/<int:conversation_id>/note")
@roles_required("membership")
def note(conversation_id: int):
    conversation = db.get_or_404(Conversation, conversation_id)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        return _page(conversation, note_form=form), 422
    services.add_note(conversation, current_user._get_current_object(), form.note.data)
    commit()
    flash(_("The note is saved."), "success")
    return _back(conversation)


@bp.post("/<int:conversation_id>/state")
@roles_required("membership")
def change_state(conversation_id: int):
    conversation = db.get_or_404(Conversation, conversation_id)
    form = StateForm()
    form.state.choices = [(code, label) for code, label in STATE_LABELS.items()]
    if not form.validate_on_submit():
        abort(400)
    state = form.state.data
    try:
        services.set_state(conversation, state, current_user._get_current_object())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back(conversation)
    commit()
    flash(_("The conversation is now: %(state)s.", state=STATE_LABELS[state]), "success")
    return _back(conversation)


@bp.post("/<int:conversation_id>/assign")
@roles_required("membership")
def change_assignee(conversation_id: int):
    conversation = db.get_or_404(Conversation, conversation_id)
    form = AssignForm()
    form.assignee.choices = [("", "")] + [(str(u.id), u.name) for u in services.staff_users()]
    if not form.validate_on_submit():
        flash(_("Choose a member of staff."), "danger")
        return _back(conversation)
    value = form.assignee.data
    try:
        services.assign(
            conversation, int(value) if value else None, current_user._get_current_object()
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _back(conversation)
    commit()
    flash(_("The assignee is saved."), "success")
    return _back(conversation)


@bp.route("/write/<int:user_id>", methods=["GET", "POST"])
@roles_required("membership")
def write(user_id: int):
    """Write to a member (the button on the member's record)."""
    person = db.get_or_404(User, user_id)
    if not person.is_active:
        abort(404)
    form = NewMessageForm()
    if form.validate_on_submit():
        conversation = services.write_to_member(
            current_user._get_current_object(), person, form.subject.data, form.message.data
        )
        commit()
        flash(_("The message is sent."), "success")
        return _back(conversation)
    return render_template("staff/inbox/write.html", form=form, person=person)
