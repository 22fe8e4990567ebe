"""Signed HTTP delivery to business systems, and the SSRF guard for their URLs
(adapters.events.ssrf: resolved once, every address checked, the request sent to the checked
address)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from publicpay.adapters.events.ssrf import AddressPolicy, PinnedUrl, Resolver, pin, system_resolver
from publicpay.domain.errors import ValidationFailed


class HttpWebhookSender:
    """Posts webhooks; the SSRF guard runs again before every attempt (DNS can change after the
    URL was accepted) and the request goes to the address it checked; redirects are not
    followed."""

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
            target = self._guard.pinned(url)
        except ValidationFailed as exc:
            return None, f"refused: {exc.detail} {exc.errors.get('url', '')}".strip(), 0
        try:
            response = self._client.post(
                target.url,
                content=body,
                headers={**headers, "Host": target.host_header},
                extensions={"sni_hostname": target.server_name},
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}", _ms(started)
        error = None if response.is_success else response.text[:200]
        return response.status_code, error, _ms(started)

    def close(self) -> None:
        self._client.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class WebhookUrlGuard:
    """Refuse URLs that resolve to private, loopback, link-local, reserved or IPv4-embedding
    addresses (adapters.events.ssrf), except loopback in demo/test mode (`allow_loopback`) and every
    private range when the deployment allows it (`allow_private`)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_loopback: bool = False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._policy = AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
        self._resolver = resolver

    def check(self, url: str) -> None:
        self.pinned(url)

    def pinned(self, url: str) -> PinnedUrl:
        if len(url) > 500:
            raise ValidationFailed("通知地址过长", errors={"url": "不超过500个字符"})
        return pin(url, self._policy, self._resolver)
