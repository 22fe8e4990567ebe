"""Cashier shifts: their table and repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
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
from publicpay.adapters.db.sql import Change, Sql
from publicpay.domain.shifts import Shift, ShiftStatus
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
    .values(status=bindparam("status"), closed_at=bindparam("closed_at"))
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
        return None if row is None else _shift(row)

    def open_at_window(self, window_id: int) -> Shift | None:
        row = self._sql.one(_OPEN_AT_WINDOW, {"window_id": window_id})
        return None if row is None else _shift(row)

    def open_of_cashier(self, cashier_id: int) -> Shift | None:
        row = self._sql.one(_OPEN_OF_CASHIER, {"cashier_id": cashier_id})
        return None if row is None else _shift(row)

    def save(self, shift: Shift) -> None:
        params = {"b_id": shift.id, "status": shift.status.value, "closed_at": shift.closed_at}
        self._sql.queue(Change(_SAVE, params, key=("shifts", shift.id)))


def _shift(row: Any) -> Shift:
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
    )
