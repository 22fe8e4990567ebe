"""RSA2 as Alipay's server does it (written independently of the adapter's copy on purpose).

Requests: every parameter except `sign`, sorted by key, joined `k=v` with `&`, SHA256withRSA
(PKCS#1 v1.5) with the app's key. Notifications: the same without `sign_type`. Sync responses:
the raw JSON text of `<method>_response` is signed and placed beside it as `sign`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def generate_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA private key is required")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an RSA public key is required")
    return key


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def content_to_sign(params: Mapping[str, str], *, drop: tuple[str, ...] = ("sign",)) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in drop and params[k])


def sign(message: str, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(message: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signed_response(response_key: str, payload: Mapping[str, Any], key: rsa.RSAPrivateKey) -> str:
    """`{"<response_key>":{...},"sign":"..."}` with the sign over the exact inner JSON text."""
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return (
        "{"
        + json.dumps(response_key)
        + ":"
        + content
        + ',"sign":'
        + json.dumps(sign(content, key))
        + "}"
    )
