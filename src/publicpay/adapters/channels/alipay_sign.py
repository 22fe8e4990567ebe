"""Alipay RSA2 (SHA256withRSA, PKCS#1 v1.5) signing and verification, merchant side.

- Request: all parameters but `sign`, sorted by key, `k=v` joined with `&` (raw values), signed
  with the app private key (what python-alipay-sdk's `sign_data` does).
- Sync response: the raw JSON text of `<method>_response` (or `error_response`), brace-matched,
  verified with the Alipay public key against the sibling `sign`.
- Async notification: all fields but `sign` and `sign_type`, URL-decoded, sorted, `k=v&…`,
  verified with the Alipay public key.
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


class BadSignature(ValueError):
    """A response or notification whose signature (or signed text) does not check out."""


def _pem(data: bytes, label: str) -> bytes:
    """Accept PEM, or the bare base64 Alipay's console shows (wrapped here as `label`)."""
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        return stripped
    body = b"\n".join(stripped[i : i + 64] for i in range(0, len(stripped), 64))
    return (
        b"-----BEGIN "
        + label.encode()
        + b"-----\n"
        + body
        + b"\n-----END "
        + label.encode()
        + b"-----\n"
    )


def load_private_key(data: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(_pem(data, "PRIVATE KEY"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("Alipay RSA2 needs an RSA private key")
    return key


def load_public_key(data: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(_pem(data, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Alipay RSA2 needs an RSA public key")
    return key


def signing_string(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key not in exclude)


def sign_rsa2(message: str, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_rsa2(message: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_request(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """`params` plus their `sign`."""
    return {**params, "sign": sign_rsa2(signing_string(params), key)}


def json_object_text(raw: str, start: int) -> str:
    """The JSON object text starting at `raw[start] == "{"`, braces matched outside strings."""
    depth = 0
    in_string = escaped = False
    for index in range(start, len(raw)):
        char = raw[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return raw[start : index + 1]
    raise BadSignature("unterminated JSON object")


def verified_response(raw: str, method: str, key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The `<method>_response` object of a sync answer, after checking its signature."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BadSignature(f"response is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadSignature("response is not a JSON object")
    response_key = method.replace(".", "_") + "_response"
    if response_key not in document:
        response_key = "error_response"
    content = document.get(response_key)
    signature = document.get("sign")
    if not isinstance(content, dict) or not isinstance(signature, str) or not signature:
        raise BadSignature(f"response has no signed {response_key}")
    marker = raw.find(json.dumps(response_key))
    start = raw.find("{", marker + len(response_key) + 2) if marker >= 0 else -1
    if start < 0:
        raise BadSignature(f"{response_key} not found in the raw response")
    text = json_object_text(raw, start)
    if not verify_rsa2(text, signature, key):
        raise BadSignature(f"{response_key} signature does not verify with the Alipay public key")
    signed = json.loads(text)
    if not isinstance(signed, dict):
        raise BadSignature("signed content is not a JSON object")
    return signed


def verify_notification(fields: Mapping[str, str], key: rsa.RSAPublicKey) -> None:
    signature = fields.get("sign", "")
    if not signature:
        raise BadSignature("notification has no sign")
    sign_type = fields.get("sign_type", "RSA2")
    if sign_type != "RSA2":
        raise BadSignature(f"unsupported sign_type {sign_type!r}")
    message = signing_string(fields, exclude=("sign", "sign_type"))
    if not verify_rsa2(message, signature, key):
        raise BadSignature("notification signature does not verify with the Alipay public key")
