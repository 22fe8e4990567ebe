"""How the emulated bank checks its customer's statement requests (the bank's own code, not the
platform's): HMAC-SHA256 with the key the bank issued for the account over
`METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nACCOUNT`, hex, in `X-Signature`; `X-Account`, `X-Timestamp`
(Unix seconds, within 5 minutes) and `X-Nonce` (each used once) beside it."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Mapping

MAX_SKEW_S = 300
_seen: dict[str, float] = {}
_lock = threading.Lock()


def expected(secret: str, method: str, path: str, timestamp: str, nonce: str, account: str) -> str:
    message = "\n".join([method, path, timestamp, nonce, account]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, account: str, method: str, path: str, headers: Mapping[str, str]
) -> str | None:
    """None when the request is the account holder's; otherwise why it is refused."""
    timestamp, nonce = headers.get("x-timestamp", ""), headers.get("x-nonce", "")
    if headers.get("x-account", "") != account:
        return "账号不符"
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
        return "时间戳无效"
    if not 8 <= len(nonce) <= 64:
        return "随机数无效"
    signature = expected(secret, method, path, timestamp, nonce, account)
    if not hmac.compare_digest(signature, headers.get("x-signature", "")):
        return "签名错误"
    now = time.monotonic()
    with _lock:
        for old in [k for k, at in _seen.items() if now - at > 2 * MAX_SKEW_S]:
            del _seen[old]
        if nonce in _seen:
            return "请求重复"
        _seen[nonce] = now
    return None
