"""Handing a built e-mail over: SMTP over a connection each worker keeps open, or an .eml file
in the outbox folder when no SMTP server is configured (development)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import current_app
from flask_mail import Message

from app.extensions import mail

log = logging.getLogger(__name__)


# A worker keeps its SMTP connection open between messages: a rush of tickets costs one
# handshake (and one TLS negotiation) instead of one per e-mail. After a second idle the
# connection is checked with NOOP before it is used; after SMTP_KEEP_SECONDS it is replaced.
SMTP_KEEP_SECONDS = 30
_kept = threading.local()


def send_over_smtp(msg: Message) -> None:
    """Send over this worker's kept SMTP connection; a failed one is closed, not reused."""
    connection = _kept_connection()
    try:
        connection.send(msg)
    except Exception:
        _drop_kept_connection()
        raise
    _kept.used = time.monotonic()


def _kept_connection():
    state = current_app.extensions["mail"]
    settings = (id(state), state.server, state.port, state.username, state.use_tls, state.use_ssl)
    connection = getattr(_kept, "connection", None)
    if connection is not None:
        idle = time.monotonic() - _kept.used
        if (
            _kept.settings != settings
            or idle > SMTP_KEEP_SECONDS
            or (idle > 1 and not _still_open(connection))
        ):
            _drop_kept_connection()
            connection = None
    if connection is None:
        connection = mail.connect().__enter__()
        _kept.connection, _kept.settings, _kept.used = connection, settings, time.monotonic()
    return connection


def _still_open(connection) -> bool:
    try:
        return connection.host is None or connection.host.noop()[0] == 250
    except Exception:  # the server closed it while it was idle
        return False


def _drop_kept_connection() -> None:
    connection = getattr(_kept, "connection", None)
    _kept.connection = None
    if connection is not None:
        try:
            connection.__exit__(None, None, None)
        except Exception:  # already broken: nothing left to close
            pass


def deliver(msg: Message, message_id: int) -> None:
    """Send over SMTP when configured; otherwise write an .eml file to the outbox folder."""
    if current_app.config.get("MAIL_SERVER"):
        send_over_smtp(msg)
        return
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message_id:06d}.eml"
    path.write_bytes(msg.as_bytes())
    log.info("E-mail %s written to %s", message_id, path)


def close_connection(opened) -> None:
    """Close a batch's SMTP connection (a failure to close is logged, not raised)."""
    try:
        opened.__exit__(None, None, None)
    except Exception:  # the server went away: nothing left to close
        log.warning("Closing the SMTP connection failed", exc_info=True)
