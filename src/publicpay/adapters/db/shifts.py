"""Cashier shifts and their deposit slips (the cash office): tables and repositories."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    bindparam,
    select,
    text,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.sql import Change, Sql
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.shifts import (
    CashCount,
    Closing,
    Confirmation,
    Credit,
    Deposit,
    DepositStatus,
    Shift,
    ShiftStatus,
    Takings,
)
from publicpay.domain.time import utc

shifts = Table(
    "shifts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("window_id", Id, ForeignKey("windows.id"), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("cashier_id", Id, ForeignKey("users.id"), nullable=False),
    Column("cashier", String(40), nullable=False),
    Column("opening_float_fen", BigInteger, nullable=False),
    Column("opened_at", Ts, nullable=False),
    Column("status", String(20), nullable=False),  # domain.shifts.ShiftStatus
    Column("closed_at", Ts, nullable=True),
    # the closing count (migration 0019): pieces per denomination, takings by kind
    Column("counted", JSON, nullable=True),  # {"10000": pieces, ...}
    Column("counted_fen", BigInteger, nullable=True),
    Column("takings", JSON, nullable=True),  # {"cash": [count, fen], ...}
    Column("difference_fen", BigInteger, nullable=True),
    Column("close_note", String(200), nullable=True),
    Column("confirmed_by_id", Id, nullable=True),  # the supervisor (a console user)
    Column("confirmed_by", String(40), nullable=True),
    Column("confirmed_at", Ts, nullable=True),
    Column("confirm_note", String(200), nullable=True),
    # one open shift per window and per cashier, whoever opens it at the same moment
    Index(
        "uq_shifts_open_window",
        "window_id",
        unique=True,
        postgresql_where=text("status = 'open'"),
        sqlite_where=text("status = 'open'"),
    ),
    Index(
        "uq_shifts_open_cashier",
        "cashier_id",
        unique=True,
        postgresql_where=text("status = 'open'"),
        sqlite_where=text("status = 'open'"),
    ),
    Index("ix_shifts_status", "status"),
)

cash_deposits = Table(
    "cash_deposits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("deposit_no", String(32), nullable=False, unique=True),
    Column("shift_id", Id, ForeignKey("shifts.id"), nullable=False, unique=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("pieces", JSON, nullable=False),  # the shift's counted cash, per denomination
    Column("business_date", Date, nullable=False, index=True),
    Column("status", String(20), nullable=False),  # domain.shifts.DepositStatus
    Column("prepared_at", Ts, nullable=False),
    Column("prepared_by", String(60), nullable=False),
    Column("statement_ref", String(64), nullable=True),
    Column("credited_on", Date, nullable=True),
    Column("credited_by", String(60), nullable=True),
    Column("credited_at", Ts, nullable=True),
)

_GET = select(shifts).where(shifts.c.id == bindparam("id"))
_GET_LOCKED = _GET.with_for_update()
_OPEN_AT_WINDOW = select(shifts).where(
    shifts.c.window_id == bindparam("window_id"), shifts.c.status == ShiftStatus.OPEN.value
)
_OPEN_OF_CASHIER = select(shifts).where(
    shifts.c.cashier_id == bindparam("cashier_id"), shifts.c.status == ShiftStatus.OPEN.value
)
_SAVE = (
    update(shifts)
    .where(shifts.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        closed_at=bindparam("closed_at"),
        counted=bindparam("counted", type_=JSON),
        counted_fen=bindparam("counted_fen"),
        takings=bindparam("takings", type_=JSON),
        difference_fen=bindparam("difference_fen"),
        close_note=bindparam("close_note"),
        confirmed_by_id=bindparam("confirmed_by_id"),
        confirmed_by=bindparam("confirmed_by"),
        confirmed_at=bindparam("confirmed_at"),
        confirm_note=bindparam("confirm_note"),
    )
)
_PAYMENTS = (
    select(payment_orders.c.method, payment_orders.c.amount_fen)
    .where(
        payment_orders.c.shift_id == bindparam("shift_id"),
        payment_orders.c.status == OrderStatus.SUCCEEDED.value,
    )
    .order_by(payment_orders.c.id)
)


class ShiftsRepository:
    """`add` runs at once (its id is needed); `save` is queued."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, shift: Shift) -> int:
        row = {
            "window_id": shift.window_id,
            "site_id": shift.site_id,
            "unit_id": shift.unit_id,
            "cashier_id": shift.cashier_id,
            "cashier": shift.cashier,
            "opening_float_fen": shift.opening_float_fen,
            "opened_at": shift.opened_at,
            "status": shift.status.value,
        }
        shift.id = int(self._sql.insert(shifts, row).id)
        return shift.id

    def get(self, shift_id: int, *, lock: bool = False) -> Shift | None:
        row = self._sql.one(_GET_LOCKED if lock else _GET, {"id": shift_id})
        return None if row is None else shift_of(row)

    def open_at_window(self, window_id: int) -> Shift | None:
        row = self._sql.one(_OPEN_AT_WINDOW, {"window_id": window_id})
        return None if row is None else shift_of(row)

    def open_of_cashier(self, cashier_id: int) -> Shift | None:
        row = self._sql.one(_OPEN_OF_CASHIER, {"cashier_id": cashier_id})
        return None if row is None else shift_of(row)

    def save(self, shift: Shift) -> None:
        closing, confirmation = shift.closing, shift.confirmation
        params = {
            "b_id": shift.id,
            "status": shift.status.value,
            "closed_at": shift.closed_at,
            "counted": closing.counted.as_dict() if closing else None,
            "counted_fen": closing.counted_fen if closing else None,
            "takings": closing.takings.as_dict() if closing else None,
            "difference_fen": shift.difference_fen if closing else None,
            "close_note": closing.note if closing else None,
            "confirmed_by_id": confirmation.by_id if confirmation else None,
            "confirmed_by": confirmation.by if confirmation else None,
            "confirmed_at": confirmation.at if confirmation else None,
            "confirm_note": confirmation.note if confirmation else None,
        }
        self._sql.queue(Change(_SAVE, params, key=("shifts", shift.id)))

    def payments(self, shift_id: int) -> list[tuple[str, int]]:
        rows = self._sql.all(_PAYMENTS, {"shift_id": shift_id})
        return [(row.method, int(row.amount_fen)) for row in rows]


def shift_of(row: Any) -> Shift:
    closing = None
    if row.counted is not None:
        closing = Closing(
            CashCount.from_dict(row.counted),
            Takings.from_dict(row.takings or {}),
            row.close_note or "",
        )
    confirmation = None
    if row.confirmed_at is not None:
        confirmation = Confirmation(
            row.confirmed_by_id, row.confirmed_by, utc(row.confirmed_at), row.confirm_note or ""
        )
    return Shift(
        id=row.id,
        window_id=row.window_id,
        site_id=row.site_id,
        unit_id=row.unit_id,
        cashier_id=row.cashier_id,
        cashier=row.cashier,
        opening_float_fen=row.opening_float_fen,
        opened_at=utc(row.opened_at),
        status=ShiftStatus(row.status),
        closed_at=utc(row.closed_at) if row.closed_at else None,
        closing=closing,
        confirmation=confirmation,
    )


_DEPOSIT = select(cash_deposits).where(cash_deposits.c.deposit_no == bindparam("deposit_no"))
_DEPOSIT_LOCKED = _DEPOSIT.with_for_update()
_DEPOSIT_OF_SHIFT = select(cash_deposits).where(cash_deposits.c.shift_id == bindparam("shift_id"))
_DEPOSITS_ON = (
    select(cash_deposits)
    .where(cash_deposits.c.business_date == bindparam("on"))
    .order_by(cash_deposits.c.id)
)
_DEPOSITS_ON_AMOUNT = _DEPOSITS_ON.where(cash_deposits.c.amount_fen == bindparam("amount_fen"))
_SAVE_DEPOSIT = (
    update(cash_deposits)
    .where(cash_deposits.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        statement_ref=bindparam("statement_ref"),
        credited_on=bindparam("credited_on"),
        credited_by=bindparam("credited_by"),
        credited_at=bindparam("credited_at"),
    )
)


class DepositsRepository:
    """`add` runs at once (its id is needed); `save` is queued."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, deposit: Deposit) -> int:
        row = {
            "deposit_no": deposit.deposit_no,
            "shift_id": deposit.shift_id,
            "unit_id": deposit.unit_id,
            "site_id": deposit.site_id,
            "amount_fen": deposit.amount_fen,
            "pieces": deposit.pieces.as_dict(),
            "business_date": deposit.business_date,
            "status": deposit.status.value,
            "prepared_at": deposit.prepared_at,
            "prepared_by": deposit.prepared_by,
        }
        deposit.id = int(self._sql.insert(cash_deposits, row).id)
        return deposit.id

    def by_no(self, deposit_no: str, *, lock: bool = False) -> Deposit | None:
        row = self._sql.one(_DEPOSIT_LOCKED if lock else _DEPOSIT, {"deposit_no": deposit_no})
        return None if row is None else deposit_of(row)

    def of_shift(self, shift_id: int) -> Deposit | None:
        row = self._sql.one(_DEPOSIT_OF_SHIFT, {"shift_id": shift_id})
        return None if row is None else deposit_of(row)

    def save(self, deposit: Deposit) -> None:
        credit = deposit.credit
        params = {
            "b_id": deposit.id,
            "status": deposit.status.value,
            "statement_ref": credit.statement_ref if credit else None,
            "credited_on": credit.credited_on if credit else None,
            "credited_by": credit.by if credit else None,
            "credited_at": credit.at if credit else None,
        }
        self._sql.queue(Change(_SAVE_DEPOSIT, params, key=("cash_deposits", deposit.id)))

    def for_matching(self, on: date, amount_fen: int | None) -> list[Deposit]:
        if amount_fen is None:
            rows = self._sql.all(_DEPOSITS_ON, {"on": on})
        else:
            rows = self._sql.all(_DEPOSITS_ON_AMOUNT, {"on": on, "amount_fen": amount_fen})
        return [deposit_of(row) for row in rows]


def deposit_of(row: Any) -> Deposit:
    credit = None
    if row.credited_at is not None:
        credit = Credit(row.statement_ref, row.credited_on, row.credited_by, utc(row.credited_at))
    return Deposit(
        id=row.id,
        deposit_no=row.deposit_no,
        shift_id=row.shift_id,
        unit_id=row.unit_id,
        site_id=row.site_id,
        amount_fen=int(row.amount_fen),
        business_date=row.business_date,
        prepared_at=utc(row.prepared_at),
        prepared_by=row.prepared_by,
        status=DepositStatus(row.status),
        credit=credit,
        pieces=CashCount.from_dict(row.pieces),
    )
