"""The audit log as sentences in the reader's language ("Sigga approved the application of Jón
Jónsson"), and its before/after values as readable fields instead of JSON."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.dates import format_datetime

# %(actor)s did it; %(subject)s is the person it was about; %(object)s names the thing.
SENTENCES = {
    "auth.login": _l("%(actor)s logged in"),
    "auth.login_failed": _l("A login failed"),
    "auth.logout": _l("%(actor)s logged out"),
    "access.refused": _l("%(actor)s was refused access"),
    "auth.passkey_added": _l("%(actor)s added a passkey"),
    "auth.passkey_renamed": _l("%(actor)s renamed a passkey"),
    "auth.passkey_removed": _l("%(actor)s removed a passkey"),
    "auth.provider_linked": _l("%(actor)s linked a sign-in provider"),
    "auth.provider_unlinked": _l("%(actor)s unlinked a sign-in provider"),
    "member.applied": _l("%(subject)s applied for membership"),
    "member.approved": _l("%(actor)s approved the application of %(subject)s"),
    "member.rejected": _l("%(actor)s rejected the application of %(subject)s"),
    "member.resigned": _l("%(subject)s resigned"),
    "member.ended": _l("%(actor)s ended the membership of %(subject)s"),
    "member.reactivated": _l("%(actor)s reactivated the membership of %(subject)s"),
    "member.updated": _l("%(actor)s changed the member record of %(subject)s"),
    "member.note_added": _l("%(actor)s added a note about %(subject)s"),
    "member.title_added": _l("%(actor)s gave %(subject)s a title"),
    "member.title_ended": _l("%(actor)s ended a title of %(subject)s"),
    "member.anonymised": _l("%(actor)s anonymised the record of %(subject)s"),
    "member.erasure_requested": _l("%(subject)s asked for their personal data to be erased"),
    "member.national_id_revealed": _l("%(actor)s looked at the national ID number of %(subject)s"),
    "members.exported": _l("%(actor)s exported the member list"),
    "members.imported": _l("%(actor)s imported members"),
    "group.created": _l("%(actor)s created %(object)s"),
    "group.updated": _l("%(actor)s changed %(object)s"),
    "group.member_added": _l("%(actor)s added %(subject)s to a group"),
    "group.member_removed": _l("%(actor)s removed %(subject)s from a group"),
    "group.role_changed": _l("%(actor)s changed the group role of %(subject)s"),
    "event.created": _l("%(actor)s created %(object)s"),
    "event.updated": _l("%(actor)s changed %(object)s"),
    "event.duplicated": _l("%(actor)s copied %(object)s"),
    "event.published": _l("%(actor)s published %(object)s"),
    "event.unpublished": _l("%(actor)s took %(object)s off the website"),
    "event.cancelled": _l("%(actor)s cancelled %(object)s"),
    "event.message_sent": _l("%(actor)s sent a message to the attendees of %(object)s"),
    "registration.added": _l("%(actor)s registered %(subject)s for an event"),
    "registration.cancelled": _l("%(actor)s cancelled the registration of %(subject)s"),
    "registration.promoted": _l("%(subject)s got a seat from the waiting list"),
    "checkin.undone": _l("%(actor)s undid a check-in"),
    "poll.created": _l("%(actor)s created %(object)s"),
    "poll.updated": _l("%(actor)s changed %(object)s"),
    "poll.opened": _l("%(actor)s opened %(object)s for voting"),
    "poll.closed": _l("%(actor)s closed %(object)s"),
    "poll.published": _l("%(actor)s published the results of %(object)s"),
    "poll.scheduled": _l("%(actor)s scheduled %(object)s"),
    "poll.unscheduled": _l("%(actor)s took %(object)s off the schedule"),
    "poll.question_added": _l("%(actor)s added a question to %(object)s"),
    "poll.question_changed": _l("%(actor)s changed a question of %(object)s"),
    "poll.question_removed": _l("%(actor)s removed a question from %(object)s"),
    "post.created": _l("%(actor)s wrote %(object)s"),
    "post.updated": _l("%(actor)s changed %(object)s"),
    "post.published": _l("%(actor)s published %(object)s"),
    "post.unpublished": _l("%(actor)s took %(object)s off the website"),
    "post.scheduled": _l("%(actor)s scheduled %(object)s"),
    "post.deleted": _l("%(actor)s deleted %(object)s"),
    "post.translated": _l("%(actor)s translated %(object)s"),
    "post.translation_removed": _l("%(actor)s removed a translation of %(object)s"),
    "page.updated": _l("%(actor)s changed %(object)s"),
    "front_page.updated": _l("%(actor)s changed the front page"),
    "newsletter.sent": _l("%(actor)s sent a newsletter"),
    "newsletter.notice_sent": _l("%(actor)s sent a required notice to every member"),
    "user.created": _l("%(actor)s created the account of %(subject)s"),
    "user.deleted": _l("%(actor)s deleted the account of %(subject)s"),
    "user.verified": _l("%(subject)s confirmed their e-mail address"),
    "user.roles_changed": _l("%(actor)s changed the roles of %(subject)s"),
    "user.password_changed": _l("%(subject)s changed their password"),
    "user.password_reset": _l("%(subject)s set a new password"),
    "user.email_change_requested": _l("%(subject)s asked to change their e-mail address"),
    "user.email_changed": _l("%(subject)s changed their e-mail address"),
    "user.totp_enabled": _l("%(subject)s turned on codes from an app"),
    "user.totp_disabled": _l("%(subject)s turned off codes from an app"),
    "user.recovery_code_used": _l("%(subject)s signed in with a recovery code"),
    "token.created": _l("%(actor)s created an API token"),
    "token.revoked": _l("%(actor)s revoked an API token"),
    "inbox.assigned": _l("%(actor)s assigned a conversation"),
    "inbox.state": _l("%(actor)s changed the state of a conversation"),
    "inbox.written": _l("%(actor)s wrote to %(subject)s"),
}
OBJECT_LABELS = {
    "event": _l("the event %(name)s"),
    "poll": _l("the poll %(name)s"),
    "post": _l("the post %(name)s"),
    "page": _l("the page %(name)s"),
    "group": _l("the group %(name)s"),
    "form": _l("the form %(name)s"),
    "webhook": _l("the webhook %(name)s"),
}
# The fields of before/after, by their key.
FIELD_LABELS = {
    "status": _l("Status"),
    "state": _l("State"),
    "reason": _l("Reason"),
    "title": _l("Title"),
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "roles": _l("Roles"),
    "count": _l("Number"),
    "filter": _l("Filter"),
    "automatic": _l("Automatically"),
    "ended_on": _l("Ended on"),
    "joined_on": _l("Joined on"),
    "full_name": _l("Full name"),
    "phone": _l("Phone"),
    "municipality": _l("Municipality"),
    "capacity": _l("Capacity"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "recipients": _l("Recipients"),
    "audience": _l("Audience"),
    "kind": _l("Kind"),
    "role": _l("Role"),
    "text": _l("Text"),
    "publish_at": _l("Publish at"),
    "categories": _l("Categories"),
    "tags": _l("Tags"),
    "description": _l("Description"),
    "secret": _l("Secret"),
    "results_mode": _l("Results"),
    "electorate_kind": _l("Who may vote"),
    "group_id": _l("Group"),
    "event_id": _l("Event"),
    "reminder_hours_before": _l("Reminder"),
    "opens_at": _l("Voting opens"),
    "closes_at": _l("Voting closes"),
    "locale": _l("Language"),
    "language": _l("Language"),
    "slug": _l("Web address"),
}
# Internal bookkeeping a reader does not need (lengths, hashes, flags of the form).
HIDDEN_FIELDS = {"body_length", "may_change_vote", "email_hash"}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

# Recorded codes of states, by the words a person reads.
VALUE_LABELS = {
    "applied": _l("Applied"),
    "active": _l("Active"),
    "rejected": _l("Rejected"),
    "resigned": _l("Resigned"),
    "draft": _l("Draft"),
    "published": _l("Published"),
    "cancelled": _l("Cancelled"),
    "confirmed": _l("Confirmed"),
    "waiting": _l("Waiting list"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "scheduled": _l("Scheduled"),
}


def _object_name(entry) -> str:
    """The thing an entry is about, by the name it had then (from its recorded values)."""
    values = {**(entry.before or {}), **(entry.after or {})}
    name = values.get("title") or values.get("name") or values.get("slug")
    label = OBJECT_LABELS.get(entry.object_type)
    if label is None:
        return str(name) if name else _("a record")
    return str(label) % {"name": f"\u201c{name}\u201d" if name else f"#{entry.object_id}"}


def sentence(entry) -> str:
    """What happened, as a sentence in the reader's language."""
    actor = entry.actor.name if entry.actor else (_("Someone") if entry.address else _("System"))
    subject = entry.subject_user.name if entry.subject_user else _("a person")
    template = SENTENCES.get(entry.action)
    values = {"actor": actor, "subject": subject, "object": _object_name(entry)}
    if template is None:
        return _("%(actor)s changed %(object)s", **values)
    return str(template) % values


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_field(k)}: {_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return format_datetime(datetime.fromisoformat(value), "short")
        except ValueError:
            return value
    label = VALUE_LABELS.get(value) if isinstance(value, str) else None
    return str(label) if label is not None else str(value)


def _field(key: str) -> str:
    label = FIELD_LABELS.get(key)
    if label is not None:
        return str(label)
    from app.members.columns import COLUMN_LABELS  # the member record's fields

    label = COLUMN_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def changes(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) for each value the entry recorded, readable."""
    before, after = entry.before or {}, entry.after or {}
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in HIDDEN_FIELDS]
    return [
        (_field(k), _value(before.get(k)) if k in before else "", _value(after.get(k)))
        for k in keys
        if k in after or k in before
    ]
