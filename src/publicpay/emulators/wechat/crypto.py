"""The platform side of WeChat Pay v3 cryptography, written independently of the adapter.

- `PlatformKey` signs answers and notifications (`TIMESTAMP\\nNONCE\\nBODY\\n`, SHA256withRSA)
  under a 微信支付公钥ID (`PUB_KEY_ID_…`);
- `check_authorization` verifies a merchant's `Authorization: WECHATPAY2-SHA256-RSA2048 …`;
- `encrypt_resource` produces an AEAD_AES_256_GCM `resource` object for notifications.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_S = 300
_ALPHABET = string.ascii_letters + string.digits
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class PlatformKey:
    """The platform's RSA-2048 key pair, generated per emulator, and its public key id."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = "PUB_KEY_ID_0114" + "".join(secrets.choice("0123456789") for _ in range(28))
        self.public_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def headers(self, body: bytes, *, at: float | None = None) -> dict[str, str]:
        """The `Wechatpay-*` headers that sign `body` now (or at the Unix time `at`)."""
        timestamp, nonce = str(int(time.time() if at is None else at)), random_text(32)
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Serial": self.key_id,
            "Wechatpay-Signature-Type": SCHEMA,
        }


class AuthorizationError(Exception):
    """The request's Authorization header is missing, malformed or does not verify."""


def parse_authorization(header: str) -> dict[str, str]:
    schema, _, rest = header.partition(" ")
    if schema != SCHEMA:
        raise AuthorizationError("Authorization 认证类型不是 WECHATPAY2-SHA256-RSA2048")
    fields = dict(_AUTH_FIELD.findall(rest))
    for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
        if not fields.get(name):
            raise AuthorizationError(f"Authorization 缺少 {name}")
    return fields


def check_authorization(
    fields: dict[str, str], key_pem: bytes, *, method: str, path_with_query: str, body: bytes
) -> None:
    """Verify the merchant's request signature (and that its timestamp is fresh)."""
    timestamp = fields["timestamp"]
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S
    ):
        raise AuthorizationError("Authorization 时间戳已过期")
    head = f"{method}\n{path_with_query}\n{timestamp}\n{fields['nonce_str']}\n".encode()
    key = serialization.load_pem_public_key(key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise AuthorizationError("商户公钥不是 RSA 公钥")
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
        key.verify(signature, head + body + b"\n", padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise AuthorizationError("签名错误，请检查后再试") from exc


def encrypt_resource(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    nonce = random_text(12)
    ciphertext = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"), plaintext, associated_data.encode("utf-8")
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def check_pay_sign(bundle: dict[str, str], key_pem: bytes) -> None:
    """Verify a JSAPI `paySign` (`appId\\ntimeStamp\\nnonceStr\\npackage\\n`, SHA256withRSA), as
    the WeChat client does before it shows the payment sheet."""
    if bundle.get("signType") != "RSA":
        raise AuthorizationError("signType 须为 RSA")
    message = "".join(
        f"{bundle.get(name, '')}\n" for name in ("appId", "timeStamp", "nonceStr", "package")
    )
    key = serialization.load_pem_public_key(key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise AuthorizationError("商户公钥不是 RSA 公钥")
    try:
        signature = base64.b64decode(bundle.get("paySign", ""), validate=True)
        key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise AuthorizationError("paySign 签名错误") from exc
