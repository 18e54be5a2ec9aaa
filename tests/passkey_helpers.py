"""A software authenticator for passkey tests that need no browser: an EC P-256 key that answers
WebAuthn registration and authentication options the way a real authenticator does."""

from __future__ import annotations

import hashlib
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return bytes_to_base64url(data)


class SoftAuthenticator:
    """One credential on one authenticator; `counter=False` behaves like a synced passkey (0)."""

    def __init__(self, counter: bool = True):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = counter
        self.sign_count = 0
        self.user_handle = b""

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _auth_data(self, rp_id: str, flags: int, attested: bool = False) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
        data += self.sign_count.to_bytes(4, "big")
        if attested:
            data += bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id
            data += self._cose_key()
        return data

    def register(self, options: str | dict, origin: str, rp_id: str | None = None) -> dict:
        """The answer to navigator.credentials.create() with these options."""
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": origin}
        ).encode()
        auth_data = self._auth_data(rp_id or options["rp"]["id"], UP | UV | AT, attested=True)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def authenticate(
        self,
        options: str | dict,
        origin: str,
        *,
        rp_id: str | None = None,
        challenge: str | None = None,
        verified: bool = True,
        count: int | None = None,
    ) -> dict:
        """The answer to navigator.credentials.get() with these options."""
        options = json.loads(options) if isinstance(options, str) else options
        if count is not None:
            self.sign_count = count
        elif self.counter:
            self.sign_count += 1
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": challenge or options["challenge"],
                "origin": origin,
            }
        ).encode()
        auth_data = self._auth_data(rp_id or options["rpId"], UP | (UV if verified else 0))
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": b64(self.user_handle),
            },
            "clientExtensionResults": {},
        }
