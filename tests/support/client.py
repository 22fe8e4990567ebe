"""A business system that knows only the Public contract: HMAC-signed calls to the unit API."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx


def signature(secret: str, method: str, path: str, ts: str, nonce: str, body: bytes) -> str:
    message = "\n".join([method, path, ts, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class SignedClient:
    def __init__(self, base_url: str, app_id: str, secret: str) -> None:
        self.base_url = base_url
        self.app_id = app_id
        self.secret = secret
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def headers(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        ts: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        stamp = str(ts if ts is not None else int(time.time()))
        nonce = nonce or uuid.uuid4().hex
        return {
            "X-App-Id": self.app_id,
            "X-Timestamp": stamp,
            "X-Nonce": nonce,
            "X-Signature": signature(self.secret, method, path, stamp, nonce, body),
            "Content-Type": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        extra_headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = self.headers(method, path, body, **kw) | (extra_headers or {})
        return self.http.request(method, path, content=body, headers=headers)

    def post(self, path: str, payload: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, payload, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, None, **kw)

    def put(self, path: str, payload: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, payload, **kw)
