"""HMAC-SHA256 keyed once gives the `hmac` module's MACs: for any key (long ones hashed first)
and message, and where it is used — the lookup hashes and the API's request signatures."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.api.auth import sign, string_to_sign
from publicpay.domain.keyed_hmac import KeyedHmac, keyed_hmac


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_it_gives_the_hmac_modules_mac_for_any_key_and_message(key: bytes, message: bytes) -> None:
    expected = hmac.new(key, message, hashlib.sha256)

    assert KeyedHmac(key).digest(message) == expected.digest()
    assert keyed_hmac(key).hexdigest(message) == expected.hexdigest()


def test_a_keyed_state_is_not_changed_by_the_messages_it_signed() -> None:
    mac = KeyedHmac(b"k" * 32)
    first = mac.digest(b"one")
    mac.digest(b"two")

    assert mac.digest(b"one") == first


@given(st.text(max_size=40))
def test_lookup_hashes_stay_the_hmac_of_the_lookup_key(text: str) -> None:
    box = SecretBox("a platform secret of some length")
    key = _lookup_key("a platform secret of some length")

    assert box.lookup_hash(text) == hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@given(st.text(min_size=1, max_size=64), st.binary(max_size=100))
def test_request_signatures_stay_the_hmac_of_the_string_to_sign(secret: str, body: bytes) -> None:
    args = ("POST", "/api/v1/payables?x=1", "1796570393", "nonce-123", body)
    message = string_to_sign(*args).encode()

    assert sign(secret, *args) == hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _lookup_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"publicpay/lookup/v1")
    return hkdf.derive(secret.encode())
