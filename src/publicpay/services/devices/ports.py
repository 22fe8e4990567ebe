"""Ports of devices, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from publicpay.domain.devices import Device


class DevicesRepo(Protocol):
    def by_app_id(self, app_id: str) -> Device | None: ...

    def get(self, device_id: int) -> Device | None: ...

    def all(self) -> list[Device]: ...

    def add(self, device: Device, at: datetime) -> int: ...

    def at_bank(self, bank_app_id: str) -> list[Device]: ...

    def heartbeat(
        self, app_id: str, at: datetime, *, printer: str, paper: str, version: str
    ) -> bool: ...
