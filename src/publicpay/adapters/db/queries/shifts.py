"""Read side of the cash office: shift lists and reports, the supervisors' confirmation queue,
the windows a cashier may open, deposit slips. Scope is applied in each statement (the unit ids
the acting user may see, from `queries.units.visible_units`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, case, func, select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.payments import day_bounds
from publicpay.adapters.db.shifts import cash_deposits, shift_of, shifts
from publicpay.adapters.db.units import sites, units, windows
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.shifts import (
    DEPOSIT_STATUS_LABELS,
    SHIFT_STATUS_LABELS,
    DepositStatus,
    Shift,
    ShiftStatus,
)

MAX_ROWS = 2_000  # shifts in one report (a period of a few months of one district)


@dataclass(frozen=True, slots=True)
class ShiftRow:
    shift: Shift
    unit_name: str
    site_name: str
    window_no: str
    taken_count: int  # payments the shift took (live while open)
    taken_fen: int
    cash_fen: int
    deposit_no: str | None
    deposit_fen: int | None
    deposit_status: DepositStatus | None

    @property
    def status_label(self) -> str:
        return SHIFT_STATUS_LABELS[self.shift.status]

    @property
    def deposit_label(self) -> str:
        return DEPOSIT_STATUS_LABELS[self.deposit_status] if self.deposit_status else ""

    @property
    def window_label(self) -> str:
        return f"{self.site_name} {self.window_no}号窗口"


@dataclass(frozen=True, slots=True)
class WindowChoice:
    id: int
    label: str
    busy_by: str | None  # the cashier whose shift is open there


_LIVE = (
    select(
        payment_orders.c.shift_id,
        func.count().label("n"),
        func.sum(payment_orders.c.amount_fen).label("fen"),
        func.sum(
            case((payment_orders.c.method == "cash", payment_orders.c.amount_fen), else_=0)
        ).label("cash"),
    )
    .where(
        payment_orders.c.shift_id.is_not(None),
        payment_orders.c.status == OrderStatus.SUCCEEDED.value,
    )
    .group_by(payment_orders.c.shift_id)
    .subquery()
)
_ROWS = (
    select(
        shifts,
        units.c.name.label("unit_name"),
        sites.c.name.label("site_name"),
        windows.c.number.label("window_no"),
        _LIVE.c.n,
        _LIVE.c.fen,
        _LIVE.c.cash,
        cash_deposits.c.deposit_no,
        cash_deposits.c.amount_fen.label("deposit_fen"),
        cash_deposits.c.status.label("deposit_status"),
    )
    .select_from(
        shifts.join(units, units.c.id == shifts.c.unit_id)
        .join(sites, sites.c.id == shifts.c.site_id)
        .join(windows, windows.c.id == shifts.c.window_id)
        .outerjoin(_LIVE, _LIVE.c.shift_id == shifts.c.id)
        .outerjoin(cash_deposits, cash_deposits.c.shift_id == shifts.c.id)
    )
    .order_by(shifts.c.opened_at.desc(), shifts.c.id.desc())
)


def _row(r: object) -> ShiftRow:
    shift = shift_of(r)
    closing = shift.closing
    deposit_status = getattr(r, "deposit_status", None)
    return ShiftRow(
        shift=shift,
        unit_name=getattr(r, "unit_name", ""),
        site_name=getattr(r, "site_name", ""),
        window_no=getattr(r, "window_no", ""),
        taken_count=closing.takings.count if closing else int(getattr(r, "n", 0) or 0),
        taken_fen=closing.takings.total_fen if closing else int(getattr(r, "fen", 0) or 0),
        cash_fen=closing.takings.cash_fen if closing else int(getattr(r, "cash", 0) or 0),
        deposit_no=getattr(r, "deposit_no", None),
        deposit_fen=getattr(r, "deposit_fen", None),
        deposit_status=DepositStatus(deposit_status) if deposit_status else None,
    )


def shift_report(
    conn: Connection,
    unit_ids: Collection[int],
    *,
    date_from: date,
    date_to: date,
    cashier_id: int | None = None,
) -> list[ShiftRow]:
    """Shifts opened in the period (Shanghai days), of the units in scope, newest first."""
    start, _ = day_bounds(date_from)
    _, end = day_bounds(date_to)
    stmt = _ROWS.where(
        shifts.c.unit_id.in_(list(unit_ids)),
        shifts.c.opened_at >= start,
        shifts.c.opened_at < end,
    ).limit(MAX_ROWS)
    if cashier_id is not None:
        stmt = stmt.where(shifts.c.cashier_id == cashier_id)
    return [_row(r) for r in conn.execute(stmt)]


def awaiting_confirmation(conn: Connection, unit_ids: Collection[int]) -> list[ShiftRow]:
    """The supervisors' queue: shifts closed with a difference, oldest first."""
    stmt = (
        _ROWS.where(
            shifts.c.unit_id.in_(list(unit_ids)),
            shifts.c.status == ShiftStatus.AWAITING_CONFIRMATION.value,
        )
        .order_by(None)
        .order_by(shifts.c.closed_at, shifts.c.id)
        .limit(MAX_ROWS)
    )
    return [_row(r) for r in conn.execute(stmt)]


def shift_row(conn: Connection, unit_ids: Collection[int], shift_id: int) -> ShiftRow | None:
    """One shift, when its unit is in scope (None otherwise: answered as not found)."""
    stmt = _ROWS.where(shifts.c.id == shift_id, shifts.c.unit_id.in_(list(unit_ids)))
    found = conn.execute(stmt).first()
    return None if found is None else _row(found)


def cashier_windows(conn: Connection, unit_id: int) -> list[WindowChoice]:
    """The active windows of the unit's active sites, with who is working each one."""
    open_shifts = (
        select(shifts.c.window_id, shifts.c.cashier)
        .where(shifts.c.status == ShiftStatus.OPEN.value)
        .subquery()
    )
    stmt = (
        select(
            windows.c.id,
            windows.c.number,
            windows.c.name,
            sites.c.name.label("site"),
            open_shifts.c.cashier,
        )
        .select_from(
            windows.join(sites, sites.c.id == windows.c.site_id).outerjoin(
                open_shifts, open_shifts.c.window_id == windows.c.id
            )
        )
        .where(sites.c.unit_id == unit_id, sites.c.active.is_(True), windows.c.active.is_(True))
        .order_by(sites.c.code, windows.c.number)
    )
    return [
        WindowChoice(
            r.id, f"{r.site} {r.number}号窗口{f'（{r.name}）' if r.name else ''}", r.cashier
        )
        for r in conn.execute(stmt)
    ]
