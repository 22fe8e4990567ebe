"""Building and sending WeChat Pay v3 notifications (encrypted resource, platform-signed)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from publicpay.emulators.notifier import OutgoingRequest
from publicpay.emulators.wechat.crypto import PlatformKey, encrypt_resource
from publicpay.emulators.wechat.state import now_utc, rfc3339

# first attempt at once, then 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h
SCHEDULE_S: tuple[int, ...] = (0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600)
SCHEDULE_S += (10800, 10800, 10800, 21600, 21600)


def acknowledged(response: httpx.Response) -> bool:
    """v3: HTTP 200 or 204 means the merchant took the notification, whatever the body."""
    return response.status_code in (200, 204)


def notification(
    platform: PlatformKey,
    *,
    url: str,
    apiv3_key: str,
    event_type: str,
    summary: str,
    original_type: str,
    resource: dict[str, Any],
) -> OutgoingRequest:
    plain = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": rfc3339(now_utc()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            **encrypt_resource(apiv3_key, plain, original_type),
        },
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", **platform.headers(body)}
    return OutgoingRequest(url=url, body=body, headers=headers)


class ResigningTransport(httpx.BaseTransport):
    """Signs every attempt afresh, as WeChat Pay does, so that a retry hours later still carries
    a current Wechatpay-Timestamp (merchants refuse timestamps older than five minutes)."""

    def __init__(self, platform: PlatformKey, inner: httpx.BaseTransport | None = None) -> None:
        self._platform = platform
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self._platform.headers(request.read()))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
