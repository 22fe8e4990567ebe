"""HMAC-SHA256 keyed once: the same MACs as `hmac`, for about half the instructions.

HMAC (RFC 2104) is SHA-256((key XOR opad) || SHA-256((key XOR ipad) || message)), the key first
hashed when longer than SHA-256's 64-byte block. `KeyedHmac` hashes both keyed blocks once and
copies the two states for each message: no `hmac` object, no keying of OpenSSL's HMAC per
message. Used where one key signs many short messages: the payment code permutation's rounds
(ten a code), the keyed lookup hashes of payer data, the signed API's request signatures.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

_BLOCK = 64  # SHA-256's block size in bytes


class KeyedHmac:
    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        return self.digest(message).hex()


@lru_cache(maxsize=256)
def keyed_hmac(key: bytes) -> KeyedHmac:
    """The keyed states for `key`, made once while it is in use (the payment code key, API
    clients' secrets: a few hundred at most)."""
    return KeyedHmac(key)
