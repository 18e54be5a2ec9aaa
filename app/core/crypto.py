"""Field encryption (Fernet) and keyed hashes for exact lookup of encrypted values."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # imported where used: most requests never encrypt or decrypt anything
    from cryptography.fernet import MultiFernet


@lru_cache(maxsize=16)
def derived_key(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from a secret (HKDF-SHA256; cached per process)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"felag", info=purpose).derive(
        secret.encode()
    )


def _fernet() -> MultiFernet:
    """FIELD_ENCRYPTION_KEY (comma-separated Fernet keys, newest first) or one derived in dev."""
    return _fernet_for(
        current_app.config.get("FIELD_ENCRYPTION_KEY") or "", current_app.config["SECRET_KEY"]
    )


@lru_cache(maxsize=8)
def _fernet_for(configured: str, secret_key: str) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if not keys:
        keys = [base64.urlsafe_b64encode(derived_key(secret_key, b"fields"))]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str | bytes) -> str:
    """Encrypt a value for storage."""
    data = value.encode() if isinstance(value, str) else value
    return _fernet().encrypt(data).decode()


def decrypt_bytes(token: str) -> bytes:
    return _fernet().decrypt(token.encode())


def decrypt(token: str) -> str:
    """Decrypt a stored value; raises ValueError when the key does not fit."""
    from cryptography.fernet import InvalidToken

    try:
        return decrypt_bytes(token).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt with the configured key") from exc


def lookup_hash(value: str, purpose: str = "lookup") -> str:
    """A keyed hash for exact matching and uniqueness without storing the value in clear."""
    configured = current_app.config.get("FIELD_HASH_KEY") or ""
    key = (
        configured.encode()
        if configured
        else derived_key(current_app.config["SECRET_KEY"], b"hash")
    )
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
