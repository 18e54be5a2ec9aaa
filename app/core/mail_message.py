"""An outbox row (app/core/mail.OutboxMessage) written out as an e-mail: rendered in the
recipient's language, built as a MIME message with its attachments, and written out quickly with
the same bytes as compat32."""

from __future__ import annotations

import email.policy
import secrets
import sys

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mail import Message


def render_mail(message) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a message, in its recipient's language."""
    from app.core.mail_layout import current_layout, inline_css, text_colour_on

    layout = current_layout()
    context = dict(message.context or {})
    context.setdefault("organisation", layout.name)
    context.update(layout=layout, on_colour=text_colour_on(layout.colour))
    with force_locale(message.locale):
        # The text template is rendered once: its module is the text and sets the subject.
        text_context = dict(context)
        current_app.update_template_context(text_context)  # as render_template does
        text_template = current_app.jinja_env.get_template(f"emails/{message.template}.txt")
        module = text_template.make_module(text_context)
        subject = str(getattr(module, "subject", "")).strip()
        text = str(module)
        html = render_template(f"emails/{message.template}.html", subject=subject, **context)
    return subject, text, inline_css(html)


# How a message is written out: the headers as Flask-Mail made them (encoded words where they
# need them), CRLF line ends, lines up to RFC 5322's 998 characters. Flask-Mail sets the SMTP
# policy, which parses every header again to refold it: half the cost of writing out a ticket
# e-mail, and a URL in List-Unsubscribe (one long word) came out as encoded words that mail
# programs do not read as a link.
class _OutputPolicy(email.policy.Compat32):
    """compat32, with a plain header written as it is: compat32 folds every header through
    email.header.Header, which gives such a header back unchanged after a pure-Python split."""

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()  # no line breaks or tabs
            and value == value.strip()
            and "  " not in value
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


OUTPUT_POLICY = _OutputPolicy(linesep="\r\n", max_line_length=998)


class _Message(Message):
    """Flask-Mail's message, written out with OUTPUT_POLICY."""

    def _message(self):
        msg = super()._message()
        msg.policy = OUTPUT_POLICY
        parts = list(msg.walk())
        # Each multipart's boundary made here as the generator makes it ("=" * 15, 19 random
        # digits, "=="), without the generator's check that the boundary is nowhere in the
        # message (a regular expression compiled and run over the whole text, per multipart):
        # when no part's headers or text hold a run of 15 "=" (base64 never does), no boundary
        # made this way can be in them. Otherwise the generator makes and checks its own.
        if all(_cannot_hold_a_boundary(p) for p in parts):
            made = set()
            for part in parts:
                if part.is_multipart() and part.get_boundary() is None:
                    boundary = _new_boundary()
                    while boundary in made:
                        boundary = _new_boundary()
                    made.add(boundary)
                    part.set_boundary(boundary)
        return msg


_BOUNDARY_RUN = "=" * 15


def _cannot_hold_a_boundary(part) -> bool:
    if any(_BOUNDARY_RUN in str(value) for value in part.values()):
        return False
    if part.is_multipart():  # its boundaries are made above, each unlike the others
        return part.preamble is None and part.epilogue is None
    payload = part.get_payload()
    return isinstance(payload, str) and _BOUNDARY_RUN not in payload


_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _new_boundary() -> str:
    return f"{'=' * 15}{secrets.randbelow(sys.maxsize):0{_BOUNDARY_DIGITS}d}=="


def build_message(message, files: dict | None = None) -> Message:
    """The Flask-Mail message for an outbox row, with its attachments read from storage (or
    taken from `files`, by area and key, when the caller has their bytes at hand)."""
    from app.core.storage import get_storage

    subject, text, html = render_mail(message)
    message.subject = subject[:300]
    msg = _Message(
        subject=subject,
        recipients=[message.to_address],
        body=text,
        html=html,
        extra_headers=dict(message.headers or {}),
    )
    for item in message.attachments or []:
        data = (files or {}).get((item["area"], item["key"]))
        if data is None:
            data = get_storage().read(item["area"], item["key"])
        headers = {"Content-ID": f"<{item['cid']}>"} if item.get("cid") else None
        msg.attach(
            item["filename"],
            item["content_type"],
            data,
            disposition="inline" if item.get("cid") else "attachment",
            headers=headers,
        )
    return msg
