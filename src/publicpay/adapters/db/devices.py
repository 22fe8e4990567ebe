"""Devices (K2): kiosks and window POS terminals, their table and repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, bindparam, select, update

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Sql
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.time import utc

devices = Table(
    "devices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("api_clients.app_id"), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # domain.devices.DeviceKind
    Column("name", String(100), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=True, index=True),
    Column("window_id", Id, ForeignKey("windows.id"), nullable=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("issuing_point", String(40), nullable=True),  # 开票点 of its own receipt stock
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Ts, nullable=False),
    Column("last_seen_at", Ts, nullable=True),
    Column("printer", String(20), nullable=True),
    Column("paper", String(20), nullable=True),
    Column("version", String(40), nullable=True),
    Column("card_terminal_id", String(8), nullable=True),  # TID at the card acquirer (POS)
)

# A partner bank's branch (合作银行网点): the bank's credential sees the kiosks placed there.
partner_sites = Table(
    "partner_sites",
    metadata,
    Column("site_id", Id, ForeignKey("sites.id"), primary_key=True),
    Column("bank_app_id", String(40), ForeignKey("api_clients.app_id"), nullable=False, index=True),
)

_BY_APP_ID = select(devices).where(devices.c.app_id == bindparam("app_id"))
_BY_ID = select(devices).where(devices.c.id == bindparam("id"))
_ALL = select(devices).order_by(devices.c.id)
_AT_BANK = (
    select(devices)
    .join(partner_sites, partner_sites.c.site_id == devices.c.site_id)
    .where(partner_sites.c.bank_app_id == bindparam("bank_app_id"))
    .order_by(devices.c.id)
)
_HEARTBEAT = (
    update(devices)
    .where(devices.c.app_id == bindparam("b_app_id"))
    .values(
        last_seen_at=bindparam("at"),
        printer=bindparam("printer"),
        paper=bindparam("paper"),
        version=bindparam("version"),
    )
)


class DevicesRepository:
    """Every statement runs at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, device: Device, at: datetime) -> int:
        row = {
            "app_id": device.app_id,
            "kind": device.kind.value,
            "name": device.name,
            "site_id": device.site_id,
            "window_id": device.window_id,
            "unit_id": device.unit_id,
            "issuing_point": device.issuing_point,
            "card_terminal_id": device.card_terminal_id,
            "active": device.active,
            "created_at": at,
        }
        return int(self._sql.insert(devices, row).id)

    def by_app_id(self, app_id: str) -> Device | None:
        row = self._sql.one(_BY_APP_ID, {"app_id": app_id})
        return None if row is None else _device(row)

    def get(self, device_id: int) -> Device | None:
        row = self._sql.one(_BY_ID, {"id": device_id})
        return None if row is None else _device(row)

    def all(self) -> list[Device]:
        """Every device (callers filter by scope)."""
        return [_device(row) for row in self._sql.all(_ALL)]

    def at_bank(self, bank_app_id: str) -> list[Device]:
        """The devices at the branches of the partner bank with this credential."""
        return [_device(row) for row in self._sql.all(_AT_BANK, {"bank_app_id": bank_app_id})]

    def add_partner_site(self, site_id: int, bank_app_id: str) -> None:
        self._sql.insert(partner_sites, {"site_id": site_id, "bank_app_id": bank_app_id})

    def heartbeat(
        self, app_id: str, at: datetime, *, printer: str, paper: str, version: str
    ) -> bool:
        """Record a heartbeat; False when no device has this credential."""
        params = {"b_app_id": app_id, "at": at, "printer": printer, "paper": paper}
        return self._sql.run(_HEARTBEAT, {**params, "version": version}) == 1


def _device(row: Any) -> Device:
    return Device(
        id=row.id,
        app_id=row.app_id,
        kind=DeviceKind(row.kind),
        name=row.name,
        site_id=row.site_id,
        window_id=row.window_id,
        unit_id=row.unit_id,
        issuing_point=row.issuing_point,
        active=bool(row.active),
        last_seen_at=utc(row.last_seen_at) if row.last_seen_at else None,
        printer=row.printer,
        paper=row.paper,
        version=row.version,
        card_terminal_id=row.card_terminal_id,
    )
