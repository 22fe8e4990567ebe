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

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from publicpay.adapters.db.dialect import for_update
from publicpay.adapters.db.payables import payable_from_row as _payable
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.receipts.tables import receipt_jobs, receipt_stocks, receipts
from publicpay.domain.payables import Payable, PayableLine
from publicpay.domain.receipts.receipts import NumberRange
from publicpay.domain.receipts.records import DrawnNumber, NewReceipt

_INSERT = insert(receipts)
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
_UNIT_STOCKS = for_update(
    select(*_STOCK_COLUMNS)
    .where(
        receipt_stocks.c.status == "active",
        receipt_stocks.c.unit_id == bindparam("b_unit"),
        receipt_stocks.c.issuing_point.is_(None),
    )
    .order_by(receipt_stocks.c.id)
)
_POINT_STOCKS = for_update(
    select(*_STOCK_COLUMNS)
    .where(
        receipt_stocks.c.status == "active",
        receipt_stocks.c.issuing_point == bindparam("b_point"),
        or_(receipt_stocks.c.unit_id == bindparam("b_unit"), receipt_stocks.c.unit_id.is_(None)),
    )
    .order_by(receipt_stocks.c.id)
)


_LOCK_PAYABLES = for_update(
    select(payables).where(payables.c.id.in_(bindparam("b_ids", expanding=True)))
).order_by(payables.c.id)
_LINES = (
    select(payable_lines)
    .where(payable_lines.c.payable_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(payable_lines.c.payable_id, payable_lines.c.line_no)
)


class BatchIssuing:
    _conn: Connection

    def lock_payables(self, payable_ids: Collection[int]) -> dict[int, Payable]:
        """The payables, locked in id order (two statements for the whole batch)."""
        ids = sorted(payable_ids)
        rows = list(self._conn.execute(_LOCK_PAYABLES, {"b_ids": ids}))
        lines: dict[int, list[PayableLine]] = {}
        for r in self._conn.execute(_LINES, {"b_ids": ids}):
            lines.setdefault(r.payable_id, []).append(
                PayableLine(
                    r.item_code,
                    r.item_name,
                    r.unit_of_measure,
                    r.quantity,
                    r.standard_fen,
                    r.amount_fen,
                )
            )
        return {row.id: _payable(row, lines.get(row.id, [])) for row in rows}

    def units_of(self, payable_ids: Collection[int]) -> dict[int, int]:
        """payable id → unit id."""
        stmt = select(payables.c.id, payables.c.unit_id).where(payables.c.id.in_(payable_ids))
        return {row.id: row.unit_id for row in self._conn.execute(stmt)}

    def issued_for(
        self, refs: Collection[str], payable_ids: Collection[int]
    ) -> tuple[set[str], set[int]]:
        """(refs that have a normal receipt, payables that have a live normal receipt)."""
        stmt = select(receipts.c.ref, receipts.c.payable_id, receipts.c.status).where(
            receipts.c.kind == "normal",
            or_(receipts.c.ref.in_(refs), receipts.c.payable_id.in_(payable_ids)),
        )
        found, live = set(), set()
        for row in self._conn.execute(stmt):
            found.add(row.ref)
            if row.status == "issued":
                live.add(row.payable_id)
        return found & set(refs), live

    def draw_block(self, unit_id: int, place: str | None, count: int) -> list[DrawnNumber]:
        """Up to `count` next numbers, oldest range first, under a lock on the ranges."""
        params: dict[str, Any] = {"b_unit": unit_id, "b_point": place}
        rows = self._conn.execute(_POINT_STOCKS if place else _UNIT_STOCKS, params)
        drawn: list[DrawnNumber] = []
        advanced: list[dict[str, Any]] = []
        for row in rows:
            if len(drawn) == count:
                break
            numbers = NumberRange(row.code, row.start_no, row.end_no, row.next_no)
            take = min(count - len(drawn), numbers.remaining)
            drawn += [DrawnNumber(row.id, row.code, numbers.draw()) for _ in range(take)]
            status = "exhausted" if numbers.exhausted else "active"
            advanced.append({"b_id": row.id, "b_next": numbers.next, "b_status": status})
        if advanced:
            self._conn.execute(_ADVANCE, advanced)
        return drawn

    def add_many(self, rows: Sequence[NewReceipt]) -> None:
        """Store issued receipts (one multi-row insert)."""
        if rows:
            self._conn.execute(
                _INSERT,
                [
                    {"status": "issued", "print_count": 0, **{f: getattr(r, f) for f in _FIELDS}}
                    for r in rows
                ],
            )

    def finish_jobs(self, job_ids: Collection[int], at: datetime) -> None:
        if job_ids:
            self._conn.execute(
                update(receipt_jobs)
                .where(receipt_jobs.c.id.in_(job_ids))
                .values(status="done", done_at=at, next_attempt_at=None, last_error=None)
            )
