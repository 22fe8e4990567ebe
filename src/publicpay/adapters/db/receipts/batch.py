"""Batch issuing statements of the receipts repository (mixed into `ReceiptsRepository`).

A batch of payment jobs of one stock costs a fixed handful of statements (grouping, "already
issued?", the range lock and its update, one multi-row insert of the receipts, one update of the
jobs) instead of a dozen per receipt. Statements are built once and run with bind parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from publicpay.adapters.db.payables import WITH_LINES, payables, payables_from_rows
from publicpay.adapters.db.receipts.tables import receipt_jobs, receipt_stocks, receipts
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.domain.payables import Payable
from publicpay.domain.receipts.receipts import NumberRange
from publicpay.domain.receipts.records import DrawnNumber, NewReceipt

_FIELDS = tuple(f.name for f in fields(NewReceipt))
_ADVANCE = (
    update(receipt_stocks)
    .where(receipt_stocks.c.id == bindparam("b_id"))
    .values(next_no=bindparam("b_next"), status=bindparam("b_status"))
)
_STOCK_COLUMNS = (
    receipt_stocks.c.id,
    receipt_stocks.c.code,
    receipt_stocks.c.start_no,
    receipt_stocks.c.end_no,
    receipt_stocks.c.next_no,
)
_UNIT_STOCKS = (
    select(*_STOCK_COLUMNS)
    .where(
        receipt_stocks.c.status == "active",
        receipt_stocks.c.unit_id == bindparam("b_unit"),
        receipt_stocks.c.issuing_point.is_(None),
    )
    .order_by(receipt_stocks.c.id)
    .with_for_update()
)
_POINT_STOCKS = (
    select(*_STOCK_COLUMNS)
    .where(
        receipt_stocks.c.status == "active",
        receipt_stocks.c.issuing_point == bindparam("b_point"),
        or_(receipt_stocks.c.unit_id == bindparam("b_unit"), receipt_stocks.c.unit_id.is_(None)),
    )
    .order_by(receipt_stocks.c.id)
    .with_for_update()
)


_LOCK_PAYABLES = WITH_LINES.where(
    payables.c.id.in_(bindparam("b_ids", expanding=True))
).with_for_update(of=payables)
_UNITS_OF = select(payables.c.id, payables.c.unit_id).where(
    payables.c.id.in_(bindparam("ids", expanding=True))
)
_ISSUED_FOR = select(receipts.c.ref, receipts.c.payable_id, receipts.c.status).where(
    receipts.c.kind == "normal",
    or_(
        receipts.c.ref.in_(bindparam("refs", expanding=True)),
        receipts.c.payable_id.in_(bindparam("ids", expanding=True)),
    ),
)
_FINISH_JOBS = (
    update(receipt_jobs)
    .where(receipt_jobs.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="done", done_at=bindparam("at"), next_attempt_at=None, last_error=None)
)


class BatchIssuing:
    _sql: Sql

    def lock_payables(self, payable_ids: Collection[int]) -> dict[int, Payable]:
        """The payables with their lines, locked (one statement for the whole batch)."""
        rows = self._sql.all(_LOCK_PAYABLES, {"b_ids": sorted(payable_ids)})
        return {p.id: p for p in payables_from_rows(rows)}

    def units_of(self, payable_ids: Collection[int]) -> dict[int, int]:
        """payable id → unit id."""
        rows = self._sql.all(_UNITS_OF, {"ids": list(payable_ids)})
        return {row.id: row.unit_id for row in rows}

    def issued_for(
        self, refs: Collection[str], payable_ids: Collection[int]
    ) -> tuple[set[str], set[int]]:
        """(refs that have a normal receipt, payables that have a live normal receipt)."""
        found, live = set(), set()
        for row in self._sql.all(_ISSUED_FOR, {"refs": list(refs), "ids": list(payable_ids)}):
            found.add(row.ref)
            if row.status == "issued":
                live.add(row.payable_id)
        return found & set(refs), live

    def draw_block(self, unit_id: int, place: str | None, count: int) -> list[DrawnNumber]:
        """Up to `count` next numbers, oldest range first, under a lock on the ranges."""
        params: dict[str, Any] = {"b_unit": unit_id, "b_point": place}
        rows = self._sql.all(_POINT_STOCKS if place else _UNIT_STOCKS, params)
        drawn: list[DrawnNumber] = []
        for row in rows:
            if len(drawn) == count:
                break
            numbers = NumberRange(row.code, row.start_no, row.end_no, row.next_no)
            take = min(count - len(drawn), numbers.remaining)
            drawn += [DrawnNumber(row.id, row.code, numbers.draw()) for _ in range(take)]
            status = "exhausted" if numbers.exhausted else "active"
            self._sql.run(_ADVANCE, {"b_id": row.id, "b_next": numbers.next, "b_status": status})
        return drawn

    def add_many(self, rows: Sequence[NewReceipt]) -> None:
        """Store issued receipts (queued: one multi-row insert with the commit)."""
        if rows:
            values = tuple(
                {"status": "issued", "print_count": 0, **{f: getattr(r, f) for f in _FIELDS}}
                for r in rows
            )
            self._sql.queue(Insert(receipts, values))

    def finish_jobs(self, job_ids: Collection[int], at: datetime) -> None:
        if job_ids:
            self._sql.run(_FINISH_JOBS, {"ids": list(job_ids), "at": at})
