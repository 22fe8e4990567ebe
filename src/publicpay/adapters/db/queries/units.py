"""Read side of the finance console: units, regions and devices to scope and label its screens.

Scope filtering itself is `domain.access` (pure): these lists are small (units of a province at
most), so they are read whole and filtered by the acting user's scope in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from publicpay.adapters.db.queries.scope import region_scope, unit_scope
from publicpay.adapters.db.units import api_clients, regions, sites, units, windows
from publicpay.domain.access import Actor
from publicpay.domain.time import utc
from publicpay.domain.units import SiteKind, Window


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


# --- administration screens (issue 10): scope in the query ----------------------------------


@dataclass(frozen=True, slots=True)
class UnitDetail:
    id: int
    code: str
    name: str
    region_code: str
    credit_code: str
    created_at: datetime
    contact: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class SiteRow:
    id: int
    code: str
    name: str
    kind: SiteKind
    address: str
    windows: tuple[Window, ...]
    active: bool = True


def _scoped(actor: Actor) -> Any:
    return unit_scope(actor, units.c.id, units.c.region_code)


def scoped_units(conn: Connection, actor: Actor) -> list[UnitDetail]:
    """The units the acting user sees, filtered in the query."""
    stmt = select(units).where(_scoped(actor)).order_by(units.c.region_code, units.c.code)
    return [_detail(r) for r in conn.execute(stmt)]


def scoped_unit(conn: Connection, actor: Actor, unit_id: int) -> UnitDetail | None:
    """One unit when it is in the acting user's scope (None also when it does not exist)."""
    stmt = select(units).where(units.c.id == unit_id, _scoped(actor))
    found = conn.execute(stmt).first()
    return None if found is None else _detail(found)


def scoped_unit_by_code(conn: Connection, actor: Actor, code: str) -> UnitDetail | None:
    """One unit by its code when it is in the acting user's scope (None otherwise)."""
    found = conn.execute(select(units).where(units.c.code == code, _scoped(actor))).first()
    return None if found is None else _detail(found)


def unit_sites(conn: Connection, unit_id: int) -> list[SiteRow]:
    """The unit's sites with their windows (the unit was checked in scope by the caller)."""
    found = conn.execute(
        select(sites).where(sites.c.unit_id == unit_id).order_by(sites.c.code)
    ).all()
    numbered: dict[int, list[Window]] = {}
    if found:
        stmt = (
            select(windows)
            .where(windows.c.site_id.in_([s.id for s in found]))
            .order_by(windows.c.number)
        )
        for w in conn.execute(stmt):
            numbered.setdefault(w.site_id, []).append(
                Window(w.id, w.site_id, w.number, w.name, bool(w.active))
            )
    return [
        SiteRow(
            s.id,
            s.code,
            s.name,
            SiteKind(s.kind),
            s.address,
            tuple(numbered.get(s.id, [])),
            bool(s.active),
        )
        for s in found
    ]


def scoped_regions(conn: Connection, actor: Actor) -> list[tuple[str, str, str | None]]:
    """(code, name, parent) of the regions the acting user administers, filtered in the query."""
    stmt = (
        select(regions.c.code, regions.c.name, regions.c.parent_code)
        .where(region_scope(actor, regions.c.code))
        .order_by(regions.c.code)
    )
    return [(r.code, r.name, r.parent_code) for r in conn.execute(stmt)]


def _detail(row: Any) -> UnitDetail:
    return UnitDetail(
        row.id,
        row.code,
        row.name,
        row.region_code,
        row.credit_code,
        utc(row.created_at),
        row.contact,
        row.disabled_at is None,
    )
