"""The collecting bank's statement service, as the platform (the account holder) calls it:
`GET <base>/statements/counter/<yyyy-mm-dd>` (the bank counter's statement, docs/bank-counter.md
§4) and `GET <base>/statements/collection/<yyyy-mm-dd>` (the collection account's statement,
docs/bank-statement.md §1), signed with the key the bank issued for the account:
HMAC-SHA256 over `METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nACCOUNT` (hex) in `X-Signature`, with
`X-Account`, `X-Timestamp` (Unix seconds) and `X-Nonce`.

A day the bank has not published yet (404 `NOT_PUBLISHED`), a timeout or a 5xx is
`ChannelUnavailable` (the worker retries); any other refusal is `ChannelRejected`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import date

import httpx

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable

KINDS = ("counter", "collection")


class HttpBankStatements:
    def __init__(self, base_url: str, account: str, key: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self._key = key
        self._timeout_s = timeout_s

    def headers(self, method: str, path: str) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = "\n".join([method, path, timestamp, nonce, self.account]).encode()
        signature = hmac.new(self._key.encode(), message, hashlib.sha256).hexdigest()
        return {
            "X-Account": self.account,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature,
        }

    def fetch(self, kind: str, day: date) -> bytes:
        if kind not in KINDS:
            raise ValueError(f"no bank statement of kind {kind!r}")
        path = f"/statements/{kind}/{day.isoformat()}"
        try:
            response = httpx.get(
                self.base_url + path, headers=self.headers("GET", path), timeout=self._timeout_s
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"银行对账单服务无应答（{type(exc).__name__}）") from None
        if response.status_code == 200:
            return response.content
        code, detail = _problem(response)
        if response.status_code >= 500 or code == "NOT_PUBLISHED":
            raise ChannelUnavailable(f"银行对账单尚未生成或暂不可用：{detail}")
        raise ChannelRejected(f"银行拒绝提供对账单：{detail}", channel_code=code)


def _problem(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "", f"HTTP {response.status_code}"
    return str(body.get("code", "")), str(body.get("detail", f"HTTP {response.status_code}"))
