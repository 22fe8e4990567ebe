"""Statistics of payments (spec M2): totals, counts and the online rate of a period, grouped by
channel, unit, site, window, fee item, budget level, region or device, and the trend by day or
by hour — every figure for the acting user's scope, filtered in the statement itself.

A payment is a succeeded payment order, counted on the business day (Asia/Shanghai) it was paid
(`paid_at`). Each group carries the filter that lists its rows (`drill`): the drill-down is the
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
from sqlalchemy.sql import ColumnElement

from publicpay.adapters.db.devices import devices
from publicpay.adapters.db.dialects import local_hour
from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.units import regions, sites, units, windows
from publicpay.domain.access import Actor
from publicpay.domain.catalogue import BudgetLevel
from publicpay.domain.ledger import SPECIAL_ACCOUNT, treasury_payable
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.statistics import CHANNEL_LABELS, LEVEL_LABELS, Dimension, Period

_PAID = payment_orders.c.paid_at
_CASH = case((payment_orders.c.channel == Channel.CASH.value, payment_orders.c.amount_fen), else_=0)
_BASE = payment_orders.join(payables, payables.c.id == payment_orders.c.payable_id).join(
    units, units.c.id == payables.c.unit_id
)


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


def _where(actor: Actor, period: Period) -> list[ColumnElement[bool]]:
    return [
        payment_orders.c.status == OrderStatus.SUCCEEDED.value,
        period.start <= _PAID,
        period.end > _PAID,
        unit_scope(actor, payables.c.unit_id, units.c.region_code),
    ]


def _figures(row: Any) -> Figures:
    return Figures(int(row.n or 0), int(row.amount or 0), int(row.cash or 0))


def _measures() -> list[Any]:
    return [
        func.count().label("n"),
        func.coalesce(func.sum(payment_orders.c.amount_fen), 0).label("amount"),
        func.coalesce(func.sum(_CASH), 0).label("cash"),
    ]


def totals(conn: Connection, actor: Actor, period: Period) -> Figures:
    stmt = select(*_measures()).select_from(_BASE).where(*_where(actor, period))
    return _figures(conn.execute(stmt).one())


def trend(conn: Connection, actor: Actor, period: Period) -> list[Bucket]:
    """By hour for a single day, else by day; every bucket of the period, empty ones too."""
    hour = local_hour(_PAID)
    stmt = (
        select(hour.label("bucket"), *_measures())
        .select_from(_BASE)
        .where(*_where(actor, period))
        .group_by(hour)
    )
    by_hour = {row.bucket: _figures(row) for row in conn.execute(stmt)}
    if period.single_day:
        day = period.first.isoformat()
        keys = [f"{day} {h:02d}" for h in range(24)]
        return [Bucket(k, by_hour.get(k, Figures(0, 0, 0))) for k in keys]
    by_day: dict[str, Figures] = {}
    for key, f in by_hour.items():
        seen = by_day.get(key[:10], Figures(0, 0, 0))
        by_day[key[:10]] = Figures(
            seen.count + f.count, seen.amount_fen + f.amount_fen, seen.cash_fen + f.cash_fen
        )
    return [Bucket(d.isoformat(), by_day.get(d.isoformat(), Figures(0, 0, 0))) for d in period.days]


def grouped(conn: Connection, actor: Actor, period: Period, dimension: Dimension) -> list[Group]:
    """The period's figures per value of `dimension`, largest amount first."""
    if dimension is Dimension.ITEM:
        return _by_item(conn, actor, period)
    if dimension is Dimension.LEVEL:
        return _by_level(conn, actor, period)
    key, label, source, drill = _GROUPINGS[dimension]
    stmt = (
        select(key.label("key"), label.label("label"), *_measures())
        .select_from(source)
        .where(*_where(actor, period))
        .group_by(key, label)
        .order_by(func.sum(payment_orders.c.amount_fen).desc())
    )
    return [_group(row, drill) for row in conn.execute(stmt)]


def _group(row: Any, drill: str | None) -> Group:
    key = "" if row.key is None else str(row.key)
    label = str(row.label) if row.label is not None else "线上缴费（无网点）"
    if drill == "channel":
        label = CHANNEL_LABELS.get(key, key)  # type: ignore[call-overload]
    filters = {drill: key} if drill and key else {}
    return Group(key, label, _figures(row), filters)


_WINDOW_LABEL = func.coalesce(sites.c.name, "") + literal(" ") + func.coalesce(windows.c.number, "")
_GROUPINGS: dict[Dimension, tuple[Any, Any, Any, str | None]] = {
    Dimension.CHANNEL: (payment_orders.c.channel, payment_orders.c.channel, _BASE, "channel"),
    Dimension.UNIT: (units.c.id, units.c.name, _BASE, "unit_id"),
    Dimension.REGION: (
        units.c.region_code,
        regions.c.name,
        _BASE.join(regions, regions.c.code == units.c.region_code),
        "region",
    ),
    Dimension.SITE: (
        payment_orders.c.site_id,
        sites.c.name,
        _BASE.outerjoin(sites, sites.c.id == payment_orders.c.site_id),
        "site_id",
    ),
    Dimension.WINDOW: (
        payment_orders.c.window_id,
        case((payment_orders.c.window_id.is_(None), None), else_=_WINDOW_LABEL + "号窗口"),
        _BASE.outerjoin(windows, windows.c.id == payment_orders.c.window_id).outerjoin(
            sites, sites.c.id == windows.c.site_id
        ),
        "window_id",
    ),
    Dimension.DEVICE: (
        payment_orders.c.device_id,
        devices.c.name,
        _BASE.outerjoin(devices, devices.c.id == payment_orders.c.device_id),
        "device_id",
    ),
}


def _by_item(conn: Connection, actor: Actor, period: Period) -> list[Group]:
    amount = func.sum(payable_lines.c.amount_fen)
    cash = func.sum(
        case((payment_orders.c.channel == Channel.CASH.value, payable_lines.c.amount_fen), else_=0)
    )
    stmt = (
        select(
            payable_lines.c.item_code.label("key"),
            func.max(payable_lines.c.item_name).label("label"),
            func.count(func.distinct(payment_orders.c.id)).label("n"),
            amount.label("amount"),
            cash.label("cash"),
        )
        .select_from(_BASE.join(payable_lines, payable_lines.c.payable_id == payables.c.id))
        .where(*_where(actor, period))
        .group_by(payable_lines.c.item_code)
        .order_by(amount.desc())
    )
    return [_group(row, "item") for row in conn.execute(stmt)]


def _by_level(conn: Connection, actor: Actor, period: Period) -> list[Group]:
    """The payment journals' credits to each treasury level and to the special account."""
    credit = -func.sum(ledger_postings.c.amount_fen)
    cash = -func.sum(
        case(
            (payment_orders.c.channel == Channel.CASH.value, ledger_postings.c.amount_fen),
            else_=0,
        )
    )
    accounts = [treasury_payable(level) for level in BudgetLevel] + [SPECIAL_ACCOUNT]
    source = _BASE.join(
        ledger_journals,
        (ledger_journals.c.ref == payment_orders.c.order_no)
        & (ledger_journals.c.kind == "payment"),
    ).join(ledger_postings, ledger_postings.c.journal_id == ledger_journals.c.id)
    stmt = (
        select(
            ledger_postings.c.account.label("key"),
            func.count(func.distinct(payment_orders.c.id)).label("n"),
            credit.label("amount"),
            cash.label("cash"),
        )
        .select_from(source)
        .where(*_where(actor, period), ledger_postings.c.account.in_(accounts))
        .group_by(ledger_postings.c.account)
        .order_by(credit.desc())
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
