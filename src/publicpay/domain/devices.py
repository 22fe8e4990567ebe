"""Devices (K2): self-service kiosks (自助机) and window POS terminals (智能POS), each with its
own API credential (`api_clients`, kind "device"), a site, and a receipt issuing point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeviceKind(StrEnum):
    KIOSK = "kiosk"  # 自助缴费终端
    POS = "pos"  # 窗口智能POS


DEVICE_KIND_LABELS = {DeviceKind.KIOSK: "自助机", DeviceKind.POS: "智能POS"}


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    app_id: str  # its credential
    kind: DeviceKind
    name: str
    site_id: int | None
    window_id: int | None  # a POS at a window
    unit_id: int | None  # bound to one unit's payables (None: every unit, e.g. a street kiosk)
    issuing_point: str | None  # 开票点: its own receipt number stock
    active: bool = True
    last_seen_at: datetime | None = None  # last heartbeat
    printer: str | None = None  # as reported: ok | error | offline
    paper: str | None = None  # ok | low | out
    version: str | None = None
