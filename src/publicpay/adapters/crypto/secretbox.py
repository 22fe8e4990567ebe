"""Encryption at rest (AES-256-GCM) and keyed lookup hashes for personal data and secrets."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from publicpay.domain.codes import PAYMENT_CODE_KEY_PURPOSE
from publicpay.domain.keyed_hmac import KeyedHmac

_VERSION = b"\x01"
# the purposes `subkey` derives a key for (derived once, at start)
SUBKEY_PURPOSES = (PAYMENT_CODE_KEY_PURPOSE,)


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class SecretBox:
    """`seal`/`open` bytes with AES-256-GCM; `lookup_hash` gives a stable keyed hash for search."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(_derive(secret_key, b"publicpay/at-rest/v1"))
        self._lookup = KeyedHmac(_derive(secret_key, b"publicpay/lookup/v1"))
        self._subkeys = {
            purpose: _derive(secret_key, purpose.encode()) for purpose in SUBKEY_PURPOSES
        }

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key derived from the secret for one named purpose (HKDF-SHA256 info)."""
        return self._subkeys[purpose]

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown sealed format")
        return self._aead.decrypt(sealed[1:13], sealed[13:], context)

    def seal_text(self, text: str, context: bytes = b"") -> bytes:
        return self.seal(text.encode(), context)

    def open_text(self, sealed: bytes, context: bytes = b"") -> str:
        return self.open(sealed, context).decode()

    def lookup_hash(self, text: str) -> str:
        """Hex HMAC-SHA256 of `text` under the lookup key."""
        return self._lookup.hexdigest(text.encode())
