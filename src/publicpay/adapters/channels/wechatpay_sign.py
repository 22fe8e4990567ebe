"""WeChat Pay API v3 cryptography: request Authorization, answer/notify signatures, AES-GCM.

Message formats (domain-notes §6.2):
- request: `METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`, SHA256withRSA (PKCS#1 v1.5)
  with the merchant key, sent as `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",…`;
- answers and notifications: `TIMESTAMP\\nNONCE\\nBODY\\n` signed with the platform key;
- JSAPI paySign: `appId\\ntimeStamp\\nnonceStr\\npackage\\n` signed with the merchant key;
- encrypted resources: AEAD_AES_256_GCM, key = APIv3 key, nonce and associated data as text.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from publicpay.domain.errors import InvalidNotification
from publicpay.domain.payments.channels import (
    Channel,
    Notification,
    NotificationKind,
    RefundState,
    TradeState,
)

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
_NONCE_ALPHABET = string.ascii_uppercase + string.digits


def new_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("merchant key must be an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("platform key must be an RSA public key")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def build_authorization(
    key: rsa.RSAPrivateKey,
    *,
    mchid: str,
    serial_no: str,
    method: str,
    path_with_query: str,
    body: str,
    timestamp: str,
    nonce: str,
) -> str:
    message = f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n"
    signature = rsa_sign(key, message)
    return (
        f'{AUTH_SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def verify_platform_signature(
    key: rsa.RSAPublicKey, *, timestamp: str, nonce: str, body: bytes, signature: str
) -> bool:
    message = timestamp.encode("ascii", "replace") + b"\n" + nonce.encode("ascii", "replace")
    return rsa_verify(key, message + b"\n" + body + b"\n", signature)


def pay_sign(
    key: rsa.RSAPrivateKey, *, appid: str, timestamp: str, nonce: str, package: str
) -> str:
    return rsa_sign(key, f"{appid}\n{timestamp}\n{nonce}\n{package}\n")


def decrypt_resource(apiv3_key: str, *, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    """AEAD_AES_256_GCM decryption; raises ValueError when the key, nonce or tag do not fit."""
    key = apiv3_key.encode("utf-8")
    if len(key) != 32:
        raise ValueError("APIv3 key must be 32 bytes")
    try:
        data = base64.b64decode(ciphertext, validate=True)
        return AESGCM(key).decrypt(nonce.encode("utf-8"), data, associated_data.encode("utf-8"))
    except (InvalidTag, binascii.Error) as exc:
        raise ValueError("resource does not decrypt (wrong key or tampered ciphertext)") from exc


# -- notifications ---------------------------------------------------------------------------


def parse_notification(
    headers: Mapping[str, str],
    body: bytes,
    *,
    platform_key: rsa.RSAPublicKey,
    platform_key_id: str,
    apiv3_key: str,
    mchid: str,
    appid: str,
    now: float,
    max_age_s: int,
) -> Notification:
    """Verify, decrypt and translate a v3 notification; InvalidNotification on any doubt."""
    check_notify_signature(
        headers, body, key=platform_key, key_id=platform_key_id, now=now, max_age_s=max_age_s
    )
    envelope = json_object(body, "通知报文")
    resource = decrypt_notify_resource(envelope, apiv3_key)
    if resource.get("mchid") != mchid:
        raise InvalidNotification(f"通知的商户号 {resource.get('mchid')!r} 不是本商户 {mchid}")
    event_type = str(envelope.get("event_type", ""))
    if event_type == "TRANSACTION.SUCCESS":
        return payment_notification(envelope, resource, appid)
    if event_type in ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"):
        return refund_notification(envelope, resource)
    raise InvalidNotification(f"不支持的通知类型 event_type={event_type!r}")


def check_notify_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: rsa.RSAPublicKey,
    key_id: str,
    now: float,
    max_age_s: int,
) -> None:
    lower = {name.lower(): value for name, value in headers.items()}
    signature = lower.get("wechatpay-signature", "")
    timestamp = lower.get("wechatpay-timestamp", "")
    nonce = lower.get("wechatpay-nonce", "")
    serial = lower.get("wechatpay-serial", "")
    if not (signature and timestamp and nonce and serial):
        raise InvalidNotification("通知缺少 Wechatpay-Signature/Timestamp/Nonce/Serial 头")
    if lower.get("wechatpay-signature-type", AUTH_SCHEMA) != AUTH_SCHEMA:
        raise InvalidNotification("不支持的 Wechatpay-Signature-Type")
    if serial != key_id:
        raise InvalidNotification(f"Wechatpay-Serial {serial!r} 不是微信支付公钥 ID {key_id}")
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > max_age_s:
        raise InvalidNotification(f"通知时间戳 {timestamp!r} 超出 {max_age_s} 秒，疑似重放")
    if not verify_platform_signature(
        key, timestamp=timestamp, nonce=nonce, body=body, signature=signature
    ):
        raise InvalidNotification("通知签名验证失败")


def decrypt_notify_resource(envelope: Mapping[str, Any], apiv3_key: str) -> dict[str, Any]:
    if envelope.get("resource_type") != "encrypt-resource":
        raise InvalidNotification(f"resource_type {envelope.get('resource_type')!r} 不受支持")
    resource = envelope.get("resource")
    if not isinstance(resource, Mapping):
        raise InvalidNotification("通知缺少 resource")
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise InvalidNotification(f"加密算法 {resource.get('algorithm')!r} 不受支持")
    fields = [resource.get(name) for name in ("nonce", "ciphertext", "associated_data")]
    nonce, ciphertext, associated = (value if isinstance(value, str) else "" for value in fields)
    if not (nonce and ciphertext):
        raise InvalidNotification("通知 resource 缺少 nonce 或 ciphertext")
    try:
        plain = decrypt_resource(
            apiv3_key, nonce=nonce, ciphertext=ciphertext, associated_data=associated
        )
    except ValueError as exc:
        raise InvalidNotification(f"通知解密失败: {exc}") from exc
    return json_object(plain, "通知 resource")


def payment_notification(
    envelope: Mapping[str, Any], resource: Mapping[str, Any], appid: str
) -> Notification:
    if resource.get("appid") != appid:
        raise InvalidNotification(f"通知的 appid {resource.get('appid')!r} 不是本应用 {appid}")
    if resource.get("trade_state") != "SUCCESS":
        raise InvalidNotification(f"支付通知的 trade_state 为 {resource.get('trade_state')!r}")
    return Notification(
        channel=Channel.WECHAT,
        notify_id=required_text(envelope, "id"),
        kind=NotificationKind.PAYMENT,
        order_no=required_text(resource, "out_trade_no"),
        state=TradeState.SUCCEEDED,
        amount_fen=amount_field(resource, "total"),
        app_id=str(resource["mchid"]),
        channel_trade_no=required_text(resource, "transaction_id"),
        paid_at=utc_time(resource.get("success_time")),
        raw={**envelope, "resource": dict(resource)},
    )


def refund_notification(envelope: Mapping[str, Any], resource: Mapping[str, Any]) -> Notification:
    status = str(resource.get("refund_status", ""))
    states = {
        "SUCCESS": RefundState.SUCCEEDED,
        "ABNORMAL": RefundState.FAILED,
        "CLOSED": RefundState.FAILED,
    }
    if status not in states:
        raise InvalidNotification(f"退款通知的 refund_status 为 {status!r}")
    return Notification(
        channel=Channel.WECHAT,
        notify_id=required_text(envelope, "id"),
        kind=NotificationKind.REFUND,
        order_no=required_text(resource, "out_trade_no"),
        state=states[status],
        amount_fen=amount_field(resource, "refund"),
        app_id=str(resource["mchid"]),
        channel_trade_no=str(resource.get("transaction_id") or "") or None,
        refund_no=required_text(resource, "out_refund_no"),
        raw={**envelope, "resource": dict(resource)},
    )


def json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidNotification(f"{what}不是合法 JSON") from exc
    if not isinstance(value, dict):
        raise InvalidNotification(f"{what}不是 JSON 对象")
    return value


def required_text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidNotification(f"通知缺少字段 {name}")
    return value


def amount_field(resource: Mapping[str, Any], name: str) -> int:
    amount = resource.get("amount")
    value = amount.get(name) if isinstance(amount, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidNotification(f"通知缺少金额 amount.{name}")
    return value


def utc_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidNotification(f"通知时间格式错误: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidNotification(f"通知时间缺少时区: {value!r}")
    return parsed.astimezone(UTC)
