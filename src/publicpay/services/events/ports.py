"""Ports of the event log and webhook delivery, as Protocols (adapters implement them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from publicpay.domain.events import StoredEvent


class EventsRepo(Protocol):
    def add(
        self, unit_id: int, type_: str, data: dict[str, Any], at: datetime, *, deliver: bool
    ) -> str: ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[StoredEvent]: ...

    def delivered(self, cursor: int, at: datetime) -> None: ...

    def retry_at(self, cursor: int, at: datetime | None) -> None: ...

    def log_delivery(
        self,
        cursor: int,
        attempt: int,
        url: str,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        at: datetime,
    ) -> None: ...


class WebhookSender(Protocol):
    def post(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int | None, str | None, int]:
        """(status code or None, error or None, duration in ms)."""
        ...


class UrlGuard(Protocol):
    def check(self, url: str) -> None:
        """Refuse URLs that would reach private networks (SSRF), with ValidationFailed."""
        ...
