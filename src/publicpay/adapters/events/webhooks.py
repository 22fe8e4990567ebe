"""Signed HTTP delivery to business systems, and the SSRF guard for their URLs."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from publicpay.domain.errors import ValidationFailed


class HttpWebhookSender:
    """Posts webhooks; the SSRF guard runs again before every attempt (DNS can change after the
    URL was accepted), and redirects are not followed."""

    def __init__(
        self,
        guard: WebhookUrlGuard,
        timeout_s: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._guard = guard
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int | None, str | None, int]:
        started = time.perf_counter()
        try:
            self._guard.check(url)
        except ValidationFailed as exc:
            return None, f"refused: {exc.detail}", 0
        try:
            response = self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}", _ms(started)
        error = None if response.is_success else response.text[:200]
        return response.status_code, error, _ms(started)

    def close(self) -> None:
        self._client.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class WebhookUrlGuard:
    """Refuse URLs that resolve to private, loopback, link-local or reserved addresses, unless
    the deployment allows them (`allow_private`, e.g. the demo and tests on loopback)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed("通知地址必须是 http(s) URL", errors={"url": "格式错误"})
        if len(url) > 500:
            raise ValidationFailed("通知地址过长", errors={"url": "不超过500个字符"})
        if self._allow_private:
            return
        for address in _resolve(parts.hostname):
            if not address.is_global:
                raise ValidationFailed(
                    "通知地址指向内网或保留地址，已拒绝", errors={"url": f"{address} 不是公网地址"}
                )


def _resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise ValidationFailed("通知地址的域名无法解析", errors={"url": host}) from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]
