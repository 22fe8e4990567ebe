"""Read side of the finance console: units, regions and devices to scope and label its screens.

Scope filtering itself is `domain.access` (pure): these lists are small (units of a province at
most), so they are read whole and filtered by the acting user's scope in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from publicpay.adapters.db.units import api_clients, regions, units
from publicpay.domain.access import Actor


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    code: str
    name: str
    region_code: str


def all_units(conn: Connection) -> list[UnitRow]:
    stmt = select(units.c.id, units.c.code, units.c.name, units.c.region_code).order_by(
        units.c.code
    )
    return [UnitRow(r.id, r.code, r.name, r.region_code) for r in conn.execute(stmt)]


def visible_units(conn: Connection, actor: Actor) -> list[UnitRow]:
    """The units the acting user may see (its region and below, or its own unit)."""
    return [u for u in all_units(conn) if actor.sees_unit(u.id, u.region_code)]


def region_names(conn: Connection) -> dict[str, str]:
    return {r.code: r.name for r in conn.execute(select(regions.c.code, regions.c.name))}


def device_ids(conn: Connection) -> list[str]:
    """Kiosk and POS devices: the 开票点 a number range can be allocated to."""
    stmt = (
        select(api_clients.c.app_id)
        .where(api_clients.c.kind == "device", api_clients.c.active.is_(True))
        .order_by(api_clients.c.app_id)
    )
    return [str(row.app_id) for row in conn.execute(stmt)]
