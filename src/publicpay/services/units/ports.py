"""Ports of units and their API credentials, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from publicpay.domain.units import ApiClient, Unit


class UnitsRepo(Protocol):
    def get(self, unit_id: int) -> Unit | None: ...

    def set_webhook(self, unit_id: int, url: str, secret: str) -> None: ...

    def rotate_webhook_secret(
        self, unit_id: int, secret: str, previous: str, valid_until: datetime
    ) -> None: ...

    def client(self, app_id: str) -> ApiClient | None: ...

    def clients(self) -> list[ApiClient]: ...

    def rotate_secret(
        self, app_id: str, secret: str, previous: str, valid_until: datetime, at: datetime
    ) -> None: ...

    def revoke(self, app_id: str, at: datetime) -> None: ...
