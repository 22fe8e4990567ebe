"""The signed business-record query to a unit's business system (`business.lookup`): the
platform POSTs to the URL the unit configured, through the same SSRF guard as webhooks (resolved
once, every address checked, the request sent to the checked address, no redirects), signed as
webhooks are; the answer must come back within the timeout, signed by the unit with the same
secret (`X-PublicPay-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, t within
300 s), as a JSON object of at most 64 KB."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from publicpay.adapters.events.webhooks import WebhookUrlGuard
from publicpay.domain.errors import ValidationFailed
from publicpay.services.payables.asking import BusinessAnswerInvalid, BusinessSystemUnavailable

MAX_ANSWER = 64 * 1024
MAX_SKEW_S = 300


class HttpBusinessSystem:
    def __init__(self, guard: WebhookUrlGuard, timeout_s: float = 3.0) -> None:
        self._guard = guard
        self._timeout = timeout_s
        self._client = httpx.Client(follow_redirects=False)

    def ask(self, url: str, secret: str, event: str, body: bytes) -> dict[str, Any]:
        try:
            target = self._guard.pinned(url)
        except ValidationFailed as exc:
            raise BusinessSystemUnavailable(f"业务系统查询地址不可用：{exc.detail}") from exc
        timestamp = int(time.time())
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-PublicPay-Event": event,
            "X-PublicPay-Signature": f"t={timestamp},v1={mac.hexdigest()}",
            "Host": target.host_header,
        }
        try:
            response = self._client.post(
                target.url, content=body, headers=headers, timeout=self._timeout,
                extensions={"sni_hostname": target.server_name},
            )  # fmt: skip
        except httpx.TimeoutException as exc:
            raise BusinessSystemUnavailable(
                f"业务系统未在 {self._timeout:g} 秒内应答，请稍后重试"
            ) from exc
        except httpx.HTTPError as exc:
            raise BusinessSystemUnavailable(f"无法连接业务系统（{type(exc).__name__}）") from exc
        return _answer(response, secret)

    def close(self) -> None:
        self._client.close()


def _answer(response: httpx.Response, secret: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise BusinessSystemUnavailable(f"业务系统应答 HTTP {response.status_code}")
    body = response.content
    if len(body) > MAX_ANSWER:
        raise BusinessAnswerInvalid("业务系统应答过大")
    if not _signed(response.headers.get("x-publicpay-signature", ""), secret, body):
        raise BusinessAnswerInvalid("业务系统应答签名无效（X-PublicPay-Signature），已忽略该应答")
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BusinessAnswerInvalid("业务系统应答不是 JSON") from exc
    if not isinstance(answer, dict):
        raise BusinessAnswerInvalid("业务系统应答应为 JSON 对象")
    return answer


def _signed(header: str, secret: str, body: bytes) -> bool:
    fields = [part.strip().split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name == "t"]
    macs = [value for name, value in fields if name == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not macs:
        return False
    timestamp = int(stamps[0])
    if abs(time.time() - timestamp) > MAX_SKEW_S:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return any(hmac.compare_digest(expected.hexdigest(), mac) for mac in macs)
