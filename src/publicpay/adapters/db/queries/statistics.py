"""Statistics of payments (spec M2): totals, counts and the online rate of a period, grouped by
channel, unit, site, window, fee item, budget level, region or device, and the trend by day or
by hour — every figure for the acting user's scope, filtered in the statement itself.

A payment is a succeeded payment order, counted on the business day (Asia/Shanghai) it was paid
(`paid_at`). The figures are read from the summary rows the recorder keeps with each payment
(`adapters/db/statistics.py`: per day and hour, unit, channel, site, window and device; per
day and item; per day and budget level), never from the payments themselves, so a period costs
the same at a million payments as at a thousand; `publicpay check` proves the summaries equal
the rows. Each group carries the filter that lists its rows (`drill`): the drill-down is the
orders list with the same period, `status=succeeded` and that filter, so a number and the rows
behind it always agree. By fee item the amount is the items' lines (a payment of two items
counts in both); by budget level it is the journal's shares of the treasury levels and the
special account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, func, literal, select
from sqlalchemy.sql import ColumnElement, FromClause

from publicpay.adapters.db.devices import devices
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.statistics import stats_hourly, stats_items, stats_levels
from publicpay.adapters.db.units import regions, sites, units, windows
from publicpay.domain.access import Actor
from publicpay.domain.payments.channels import Channel
from publicpay.domain.statistics import CHANNEL_LABELS, LEVEL_LABELS, Dimension, Period

H = stats_hourly
_BASE = H.join(units, units.c.id == H.c.unit_id)


@dataclass(frozen=True, slots=True)
class Figures:
    count: int
    amount_fen: int
    cash_fen: int

    @property
    def online_rate(self) -> float | None:
        return (self.amount_fen - self.cash_fen) / self.amount_fen if self.amount_fen > 0 else None


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str
    figures: Figures
    drill: Mapping[str, str] = field(default_factory=dict)  # the orders list's filter


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str  # "YYYY-MM-DD" or "YYYY-MM-DD HH"
    figures: Figures

    @property
    def drill(self) -> dict[str, str]:
        day, _, hour = self.key.partition(" ")
        found = {"date_from": day, "date_to": day}
        return {**found, "hour": str(int(hour))} if hour else found


def _where(actor: Actor, period: Period, summary: Any) -> list[ColumnElement[bool]]:
    return [
        summary.c.day >= period.first,
        summary.c.day <= period.last,
        unit_scope(actor, summary.c.unit_id, units.c.region_code),
    ]


def _figures(row: Any) -> Figures:
    return Figures(int(row.n or 0), int(row.amount or 0), int(row.cash or 0))


def _measures(summary: Any) -> list[Any]:
    cash = case((summary.c.channel == Channel.CASH.value, summary.c.amount_fen), else_=0)
    return [
        func.coalesce(func.sum(summary.c.payments), 0).label("n"),
        func.coalesce(func.sum(summary.c.amount_fen), 0).label("amount"),
        func.coalesce(func.sum(cash), 0).label("cash"),
    ]


def _amount(summary: Any) -> Any:
    return func.sum(summary.c.amount_fen)


def totals(conn: Connection, actor: Actor, period: Period) -> Figures:
    stmt = select(*_measures(H)).select_from(_BASE).where(*_where(actor, period, H))
    return _figures(conn.execute(stmt).one())


def trend(conn: Connection, actor: Actor, period: Period) -> list[Bucket]:
    """By hour for a single day, else by day; every bucket of the period, empty ones too."""
    if period.single_day:
        stmt = (
            select(H.c.hour.label("bucket"), *_measures(H))
            .select_from(_BASE)
            .where(*_where(actor, period, H))
            .group_by(H.c.hour)
        )
        by_hour = {int(row.bucket): _figures(row) for row in conn.execute(stmt)}
        day = period.first.isoformat()
        return [Bucket(f"{day} {h:02d}", by_hour.get(h, _NONE)) for h in range(24)]
    stmt = (
        select(H.c.day.label("bucket"), *_measures(H))
        .select_from(_BASE)
        .where(*_where(actor, period, H))
        .group_by(H.c.day)
    )
    by_day = {_day_text(row.bucket): _figures(row) for row in conn.execute(stmt)}
    return [Bucket(d.isoformat(), by_day.get(d.isoformat(), _NONE)) for d in period.days]


_NONE = Figures(0, 0, 0)


def _day_text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


def grouped(conn: Connection, actor: Actor, period: Period, dimension: Dimension) -> list[Group]:
    """The period's figures per value of `dimension`, largest amount first."""
    if dimension is Dimension.ITEM:
        return _by_item(conn, actor, period)
    if dimension is Dimension.LEVEL:
        return _by_level(conn, actor, period)
    key, label, source, drill = _GROUPINGS[dimension]
    stmt = (
        select(key.label("key"), label.label("label"), *_measures(H))
        .select_from(source)
        .where(*_where(actor, period, H))
        .group_by(key, label)
        .order_by(_amount(H).desc())
    )
    return [_group(row, drill) for row in conn.execute(stmt)]


def _group(row: Any, drill: str | None) -> Group:
    key = "" if row.key is None else str(row.key)
    label = str(row.label) if row.label is not None else "线上缴费（无网点）"
    if drill == "channel":
        label = CHANNEL_LABELS.get(key, key)  # type: ignore[call-overload]
    filters = {drill: key} if drill and key else {}
    return Group(key, label, _figures(row), filters)


def _place(column: Any) -> Any:
    """A place's id (0 in the summaries: none) as the orders list filters it (none: NULL)."""
    return func.nullif(column, 0)


_WINDOW_LABEL = func.coalesce(sites.c.name, "") + literal(" ") + func.coalesce(windows.c.number, "")
_GROUPINGS: dict[Dimension, tuple[Any, Any, FromClause, str | None]] = {
    Dimension.CHANNEL: (H.c.channel, H.c.channel, _BASE, "channel"),
    Dimension.UNIT: (units.c.id, units.c.name, _BASE, "unit_id"),
    Dimension.REGION: (
        units.c.region_code,
        regions.c.name,
        _BASE.join(regions, regions.c.code == units.c.region_code),
        "region",
    ),
    Dimension.SITE: (
        _place(H.c.site_id),
        sites.c.name,
        _BASE.outerjoin(sites, sites.c.id == H.c.site_id),
        "site_id",
    ),
    Dimension.WINDOW: (
        _place(H.c.window_id),
        case((H.c.window_id == 0, None), else_=_WINDOW_LABEL + "号窗口"),
        _BASE.outerjoin(windows, windows.c.id == H.c.window_id).outerjoin(
            sites, sites.c.id == windows.c.site_id
        ),
        "window_id",
    ),
    Dimension.DEVICE: (
        _place(H.c.device_id),
        devices.c.name,
        _BASE.outerjoin(devices, devices.c.id == H.c.device_id),
        "device_id",
    ),
}


def _by_item(conn: Connection, actor: Actor, period: Period) -> list[Group]:
    """Each item's lines of the payments (a payment of two items counts in both)."""
    i = stats_items
    stmt = (
        select(i.c.item_code.label("key"), func.max(i.c.item_name).label("label"), *_measures(i))
        .select_from(i.join(units, units.c.id == i.c.unit_id))
        .where(*_where(actor, period, i))
        .group_by(i.c.item_code)
        .order_by(_amount(i).desc())
    )
    return [_group(row, "item") for row in conn.execute(stmt)]


def _by_level(conn: Connection, actor: Actor, period: Period) -> list[Group]:
    """The payment journals' credits to each treasury level and to the special account."""
    lv = stats_levels
    stmt = (
        select(lv.c.account.label("key"), *_measures(lv))
        .select_from(lv.join(units, units.c.id == lv.c.unit_id))
        .where(*_where(actor, period, lv))
        .group_by(lv.c.account)
        .order_by(_amount(lv).desc())
    )
    groups = []
    for row in conn.execute(stmt):
        level = str(row.key).partition(":")[2]
        if level:
            label = LEVEL_LABELS.get(level, level)  # type: ignore[call-overload]
            groups.append(Group(level, f"{label}级国库", _figures(row), {"level": level}))
        else:
            groups.append(Group("special_account", "财政专户", _figures(row), {}))
    return groups
