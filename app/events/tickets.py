"""Ticket codes: 128 random bits signed with the event's Ed25519 key, and their QR images.

A code reads ``<event_id>.<ticket_id>.<signature>``: ticket_id is 16 random bytes and the
signature covers ``felag-ticket:<event_id>:<ticket_id>``, both base64url without padding. A
scanner holding only the event's public key can tell a real code from a forged one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import current_app

from app.core import crypto
from app.core.http import absolute_url

if TYPE_CHECKING:  # imported where used: web workers that never sign or draw do not load them
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

CODE_RE = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{86})$")
SHORT_CODE_LENGTH = 8
# Letters and digits that cannot be taken for one another: no 0/O, no 1/I/L.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_CODE_RE = re.compile(rf"^[{SHORT_CODE_ALPHABET}]{{{SHORT_CODE_LENGTH}}}$")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_pair() -> tuple[str, str]:
    """(encrypted private key, base64url raw public key) for a new event."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return crypto.encrypt(raw_private), b64(raw_public)


def _message(event_id: int, ticket_id: str) -> bytes:
    return f"felag-ticket:{event_id}:{ticket_id}".encode()


@lru_cache(maxsize=256)
def _signing_key(signing_key_encrypted: str, field_keys: str, secret_key: str) -> Ed25519PrivateKey:
    # Keyed by the configured keys too: a key read with another configuration is not reused.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(crypto.decrypt_bytes(signing_key_encrypted))


def signing_key(signing_key_encrypted: str) -> Ed25519PrivateKey:
    """The event's private key, decrypted once per process and kept in memory (never on disk)."""
    config = current_app.config
    return _signing_key(
        signing_key_encrypted, config.get("FIELD_ENCRYPTION_KEY") or "", config["SECRET_KEY"]
    )


def make_code(event_id: int, signing_key_encrypted: str) -> str:
    """A new signed ticket code for the event."""
    private = signing_key(signing_key_encrypted)
    ticket_id = b64(secrets.token_bytes(16))
    signature = private.sign(_message(event_id, ticket_id))
    return f"{event_id}.{ticket_id}.{b64(signature)}"


def short_code(code: str, attempt: int = 0) -> str:
    """The ticket's 8-character short code, printed under the QR: typed at the door when a
    phone will not scan. Made from the ticket id (another `attempt` gives another code, for
    the rare code already taken in the event); unique per event in the database."""
    parts = (code or "").split(".")
    if len(parts) != 3:
        return ""
    seed = parts[1] if not attempt else f"{parts[1]}:{attempt}"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    letters = []
    for _ in range(SHORT_CODE_LENGTH):
        number, index = divmod(number, len(SHORT_CODE_ALPHABET))
        letters.append(SHORT_CODE_ALPHABET[index])
    return "".join(letters)


def clean_short_code(text: str) -> str | None:
    """A typed short code in its stored form ("abcd efgh" -> "ABCDEFGH"), or None."""
    value = re.sub(r"[\s-]", "", text or "").upper()
    return value if SHORT_CODE_RE.match(value) else None


@dataclass(frozen=True)
class ParsedCode:
    event_id: int
    ticket_id: str
    signature: bytes


def parse_code(text: str) -> ParsedCode | None:
    """Read a code, or a ticket URL ending in one; None when it is not shaped like a code."""
    text = (text or "").strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    match = CODE_RE.match(text)
    if not match:
        return None
    return ParsedCode(int(match.group(1)), match.group(2), unb64(match.group(3)))


@lru_cache(maxsize=256)
def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(unb64(public_key_b64))


def verify(parsed: ParsedCode, public_key_b64: str) -> bool:
    """True when the signature was made by the event's key."""
    from cryptography.exceptions import InvalidSignature

    try:
        _public_key(public_key_b64).verify(
            parsed.signature, _message(parsed.event_id, parsed.ticket_id)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def ticket_url(code: str) -> str:
    """What the QR encodes: the short link, which opens the ticket page on a phone."""
    return absolute_url("tickets.short_link", code=code)


# A fixed mask: qrcode otherwise draws the symbol eight times to score each mask (three
# quarters of a ticket's QR time); every mask gives a valid code that phones read.
QR_MASK_PATTERN = 4
# A row of modules as bytes is 1 for dark and 0 for light: black (0) and white (255) pixels.
_MODULE_GREY = bytes([255, 0]) + bytes(254)


def qr_png(code: str, box_size: int = 8) -> bytes:
    """A PNG of the QR code for the ticket URL (black on white, 1 bit per pixel)."""
    import qrcode
    from PIL import Image

    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=4,
        mask_pattern=QR_MASK_PATTERN,
    )
    qr.add_data(ticket_url(code))
    qr.make(fit=True)
    # One byte per module, scaled up by Pillow: qrcode's own image factory draws each dark
    # module as a rectangle in Python.
    matrix = qr.get_matrix()
    size = len(matrix)
    modules = b"".join(bytes(row) for row in matrix).translate(_MODULE_GREY)
    image = Image.frombytes("L", (size, size), modules)
    image = image.resize((size * box_size, size * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(out, format="PNG")
    return out.getvalue()


def ticket_png(registration) -> bytes:
    """A confirmed registration's QR image: the one the ticket job stored, or drawn now (the job
    has not run yet, or storage could not give the file back)."""
    from app.core.storage import get_storage

    if registration.ticket_qr_key:
        try:
            return get_storage().read("private", registration.ticket_qr_key)
        except Exception:  # storage hiccup or file gone: draw it again
            current_app.logger.warning("QR image %s unreadable", registration.id)
    return qr_png(registration.ticket_code)
