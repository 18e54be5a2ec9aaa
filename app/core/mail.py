"""Outgoing e-mail: an outbox row per message, sent by a job in the recipient's language."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column

from app.core.http import absolute_url
from app.core.jobs import enqueue_after_commit, finish_running_job
from app.core.mail_delivery import close_connection, deliver
from app.core.mail_message import build_message
from app.core.timeutil import UTCDateTime, utcnow
from app.core.unique import insert_unless_taken
from app.extensions import db, mail

log = logging.getLogger(__name__)

STATES = ("queued", "sending", "sent", "failed", "cancelled")


class MessageBusy(Exception):
    """Another worker is sending this message now; the job tries again after its back-off."""


class BatchFailed(Exception):
    """Some e-mails of a batch failed; the job's retry sends only those again."""


class OutboxMessage(db.Model):
    """One e-mail: written before it is sent, so nothing is sent twice or silently lost."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_batch_key_state", "batch_key", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(5))
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(300))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    # The batch a message belongs to ("event-message:12"), so a batch's progress is counted
    # through an index instead of a LIKE scan over every key.
    batch_key: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def unsubscribe_token(user_id: int) -> str:
    """A signed token for the one-click unsubscribe link (no login needed)."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe").dumps(user_id)


def load_unsubscribe_token(token: str) -> int | None:
    """The user id in an unsubscribe token, or None when it is not genuine."""
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        value = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def unsubscribe_url(user_id: int) -> str:
    return absolute_url("members.unsubscribe", token=unsubscribe_token(user_id))


def queue_mail(
    to: str,
    template: str,
    locale: str,
    context: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    user_id: int | None = None,
    attachments: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    bulk: bool = False,
    batch_key: str | None = None,
    send: bool = True,
) -> OutboxMessage:
    """Write an outbox row and ask for the send job after commit. A repeated key is sent once.

    Bulk mail (newsletters, messages to attendees) carries a signed one-click unsubscribe link in
    the footer and the List-Unsubscribe headers; it needs the recipient's user_id. batch_key
    names the batch a message is part of, for counting its progress. With send=False no send job
    is asked for: the caller sends the rows itself with `send_outbox_batch` (one SMTP connection).
    """
    message, _written = _queue(
        to,
        template,
        locale,
        context,
        key=key,
        user_id=user_id,
        attachments=attachments,
        headers=headers,
        bulk=bulk,
        batch_key=batch_key,
        send=send,
    )
    return message


def queue_mail_to_send_now(
    to: str,
    template: str,
    locale: str,
    context: dict[str, Any] | None = None,
    *,
    key: str,
    user_id: int | None = None,
    attachments: list[dict] | None = None,
) -> tuple[int, OutboxMessage | None]:
    """Write an outbox row already claimed by the caller, a job that sends it itself at once.

    Returns the row's id and, when it was written now, a copy of it (outside the session) to
    give `send_claimed` right after the commit: the row is committed as `sending` (one attempt),
    so no second worker takes it and a worker that dies leaves it for the stale-time retry, as
    after `_claim`. When the key was written before (a rerun of the job) the copy is None: send
    the row with `send_outbox_message`, which claims it and sends it only if it was not sent.
    """
    message, written = _queue(
        to,
        template,
        locale,
        context,
        key=key,
        user_id=user_id,
        attachments=attachments,
        claimed=True,
    )
    if not written:
        return message.id, None
    db.session.expunge(message)  # a copy: the commit must not expire it (nothing reloads it)
    return message.id, message


def _queue(
    to: str,
    template: str,
    locale: str,
    context: dict[str, Any] | None,
    *,
    key: str | None,
    user_id: int | None,
    attachments: list[dict] | None,
    headers: dict[str, str] | None = None,
    bulk: bool = False,
    batch_key: str | None = None,
    send: bool = False,
    claimed: bool = False,
) -> tuple[OutboxMessage, bool]:
    """queue_mail's work; also says whether the row was written now. claimed: as `sending`."""
    key = key or f"{template}:{secrets.token_hex(12)}"
    context = dict(context or {})
    headers = dict(headers or {})
    if bulk and user_id is not None:
        link = unsubscribe_url(user_id)
        context["unsubscribe_url"] = link
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    values = {}
    if claimed:
        values = {"state": "sending", "claimed_at": utcnow(), "attempts": 1}
    message, written = _write_once(
        key=key,
        to_address=to,
        user_id=user_id,
        locale=locale,
        template=template,
        context=context,
        attachments=attachments or [],
        headers=headers,
        batch_key=batch_key,
        **values,
    )
    if send and written:
        enqueue_after_commit(send_outbox_message, message.id, queue="mail")
    return message, written


# Written by `_write_once` (the others start empty), with one INSERT ... ON CONFLICT compiled
# once (app/core/unique.py).
_WRITTEN_COLUMNS = (
    "key",
    "to_address",
    "user_id",
    "locale",
    "template",
    "context",
    "attachments",
    "headers",
    "batch_key",
    "state",
    "attempts",
    "claimed_at",
    "created_at",
)


def _insert_once():
    return insert_unless_taken(OutboxMessage.__table__, _WRITTEN_COLUMNS, ("key",), ("id",))


def _write_once(**values: Any) -> tuple[OutboxMessage, bool]:
    """The outbox row under values["key"]: written now (True) or the one already there (False).

    One `INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id` (PostgreSQL and SQLite): a row
    written meanwhile by a concurrent transaction (a double submit) makes the insert wait for it
    and then do nothing, and the existing row is read instead. The written row becomes an
    object of the session as if it had been loaded (no SELECT after the insert).
    """
    values = {"state": "queued", "attempts": 0, "claimed_at": None, **values}
    values.setdefault("created_at", utcnow())
    written = db.session.execute(_insert_once(), values).scalar()
    if written is None:
        existing = db.session.scalar(select(OutboxMessage).filter_by(key=values["key"]))
        return existing, False
    message = OutboxMessage(id=written, subject=None, error=None, sent_at=None, **values)
    make_transient_to_detached(message)
    db.session.add(message)
    return message, True


def _claim(message_id: int) -> tuple[str, OutboxMessage | None]:
    """Take the message for sending: ("claimed", the row), ("done", None) or ("busy", None).

    A message left in `sending` by a worker that died is taken again after JOBS_STALE_SECONDS.
    The claimed row comes back from the UPDATE itself, as a copy outside the session (nothing
    reloads it after the commit).
    """
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    row = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                OutboxMessage.state.in_(("queued", "failed")),
                (OutboxMessage.state == "sending") & (OutboxMessage.claimed_at < stale),
            ),
        )
        .values(state="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(*OutboxMessage.__table__.columns)
        .execution_options(synchronize_session=False)
    ).first()
    state = (
        None
        if row
        else db.session.scalar(select(OutboxMessage.state).where(OutboxMessage.id == message_id))
    )
    db.session.commit()
    if row is not None:
        return "claimed", OutboxMessage(**row._asdict())
    return ("busy" if state == "sending" else "done"), None


def send_outbox_message(message_id: int) -> str:
    """Job: send one outbox message once; failures are recorded and re-raised for a retry."""
    claim, message = _claim(message_id)
    if claim == "busy":
        raise MessageBusy(f"outbox message {message_id} is being sent by another worker")
    if claim == "done":
        return "skipped"
    return send_claimed(message)


_SENT = (  # built once (building an UPDATE costs about as much CPU as running it)
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("message_id"))
    .values(state="sent", sent_at=bindparam("now"), error=None, subject=bindparam("subject"))
    .execution_options(synchronize_session=False)
)


def send_claimed(message: OutboxMessage, files: dict | None = None) -> str:
    """Send a message this worker has claimed (committed as `sending`) and record the result.

    The `sent` mark is the last write of the job that sends it: the job is recorded done in
    the same commit (`jobs.finish_running_job`). A failure is recorded and re-raised for a retry.
    `files`: attachments the caller has at hand, by area and key (not read back from storage).
    """
    try:
        msg = build_message(message, files)
        deliver(msg, message.id)
    except Exception as exc:
        db.session.rollback()
        _mark(message.id, state="failed", error=f"{type(exc).__name__}: {exc}"[:1000])
        log.warning("E-mail %s failed on attempt %s", message.id, message.attempts)
        raise
    finish_running_job()
    db.session.execute(
        _SENT, {"message_id": message.id, "now": utcnow(), "subject": (message.subject or "")[:300]}
    )
    db.session.commit()
    log.info("E-mail %s sent (%s)", message.id, message.template)
    return "sent"


def _claim_many(message_ids: list[int]) -> tuple[list[int], int]:
    """Take the batch's sendable messages in one UPDATE; returns them and how many are busy."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            or_(
                OutboxMessage.state.in_(("queued", "failed")),
                (OutboxMessage.state == "sending") & (OutboxMessage.claimed_at < stale),
            ),
        )
        .values(state="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    busy = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.state == "sending",
            OutboxMessage.id.not_in(claimed or [0]),
        )
    )
    db.session.commit()
    return sorted(claimed), busy or 0


def _mark(message_id: int, **values) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def send_outbox_batch(message_ids: list[int]) -> str:
    """Job: send many outbox messages over one SMTP connection (newsletters).

    Every message is claimed (state `sending`, committed) before any is sent, and each is marked
    sent or failed on its own row right after its SMTP transaction, so nothing goes twice. When
    some failed, or were busy with another worker, the job raises after the rest are sent: its
    retry takes only those again (sent ones are done).
    """
    claimed, busy = _claim_many(list(message_ids))
    smtp = bool(current_app.config.get("MAIL_SERVER"))
    rows = {
        m.id: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed)))
    }
    for message in rows.values():  # detached: a commit below must not expire and reload them
        db.session.expunge(message)
    db.session.commit()  # no transaction is held open while sending
    connection, opened = None, None
    sent, failed = 0, 0
    try:
        for message_id in claimed:
            message = rows[message_id]
            try:
                msg = build_message(message)
                if smtp:
                    if connection is None:
                        opened = mail.connect()
                        connection = opened.__enter__()
                    connection.send(msg)
                else:
                    deliver(msg, message.id)
            except Exception as exc:
                db.session.rollback()
                _mark(message_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:1000])
                failed += 1
                if opened is not None:  # the connection may be broken: a new one for the rest
                    close_connection(opened)
                    connection, opened = None, None
                continue
            _mark(
                message_id,
                state="sent",
                sent_at=utcnow(),
                error=None,
                subject=(message.subject or "")[:300],
            )
            sent += 1
    finally:
        if opened is not None:
            close_connection(opened)
    log.info("E-mail batch: %s sent, %s failed, %s busy", sent, failed, busy)
    if failed or busy:
        raise BatchFailed(f"{failed} failed and {busy} busy in the batch; they are tried again")
    return f"sent {sent}"
