"""Payables repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from publicpay.adapters.db.dialect import for_update, next_payable_id
from publicpay.adapters.db.tables import payable_lines, payables
from publicpay.domain.errors import Conflict
from publicpay.domain.payables import Payable, PayableLine, PayableStatus, PayerType
from publicpay.domain.time import utc


class PayablesRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next_id(self) -> int:
        return next_payable_id(self._conn)

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        created_at: datetime,
    ) -> None:
        try:
            self._insert(payable, payer_id_enc, payer_id_hash, payer_phone_enc, created_at)
        except IntegrityError as exc:
            raise Conflict(f"业务编号 {payable.biz_no} 已登记") from exc

    def _insert(
        self,
        payable: Payable,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        created_at: datetime,
    ) -> None:
        self._conn.execute(
            insert(payables).values(
                id=payable.id,
                payment_code=payable.payment_code,
                unit_id=payable.unit_id,
                biz_no=payable.biz_no,
                request_hash=payable.request_hash,
                payer_name=payable.payer_name,
                payer_type=payable.payer_type.value,
                payer_id_enc=payer_id_enc,
                payer_id_hash=payer_id_hash,
                payer_id_masked=payable.payer_id_masked,
                payer_phone_enc=payer_phone_enc,
                amount_fen=payable.amount_fen,
                status=payable.status.value,
                due_date=payable.due_date,
                remark=payable.remark,
                created_at=created_at,
                refunded_fen=0,
                version=1,
            )
        )
        self._conn.execute(
            insert(payable_lines),
            [
                {
                    "payable_id": payable.id,
                    "line_no": n,
                    "item_code": line.item_code,
                    "item_name": line.item_name,
                    "unit_of_measure": line.unit_of_measure,
                    "quantity": line.quantity,
                    "standard_fen": line.standard_fen,
                    "amount_fen": line.amount_fen,
                }
                for n, line in enumerate(payable.lines, start=1)
            ],
        )

    def by_biz_no(self, unit_id: int, biz_no: str) -> Payable | None:
        stmt = select(payables).where(payables.c.unit_id == unit_id, payables.c.biz_no == biz_no)
        return self._one(stmt)

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None:
        stmt = select(payables).where(payables.c.payment_code == payment_code)
        return self._one(for_update(stmt) if lock else stmt)

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None:
        stmt = select(payables).where(payables.c.id == payable_id)
        return self._one(for_update(stmt) if lock else stmt)

    def payer_id_enc(self, payable_id: int) -> bytes:
        stmt = select(payables.c.payer_id_enc).where(payables.c.id == payable_id)
        return bytes(self._conn.execute(stmt).scalar_one())

    def save(self, payable: Payable) -> None:
        self._conn.execute(
            update(payables)
            .where(payables.c.id == payable.id)
            .values(
                status=payable.status.value,
                paid_at=payable.paid_at,
                paid_fen=payable.paid_fen,
                paid_order_id=payable.paid_order_id,
                channel=payable.channel,
                refunded_fen=payable.refunded_fen,
                version=payables.c.version + 1,
            )
        )

    def _one(self, stmt: Any) -> Payable | None:
        row = self._conn.execute(stmt).first()
        return None if row is None else self._hydrate(row)

    def _hydrate(self, row: Row[Any]) -> Payable:
        lines = [
            PayableLine(
                r.item_code,
                r.item_name,
                r.unit_of_measure,
                r.quantity,
                r.standard_fen,
                r.amount_fen,
            )
            for r in self._conn.execute(
                select(payable_lines)
                .where(payable_lines.c.payable_id == row.id)
                .order_by(payable_lines.c.line_no)
            )
        ]
        return Payable(
            id=row.id,
            payment_code=row.payment_code,
            unit_id=row.unit_id,
            biz_no=row.biz_no,
            payer_name=row.payer_name,
            payer_type=PayerType(row.payer_type),
            payer_id_masked=row.payer_id_masked,
            amount_fen=row.amount_fen,
            status=PayableStatus(row.status),
            due_date=row.due_date,
            remark=row.remark,
            lines=lines,
            request_hash=row.request_hash,
            channel=row.channel,
            paid_fen=row.paid_fen,
            paid_order_id=row.paid_order_id,
            refunded_fen=row.refunded_fen,
            created_at=utc(row.created_at),
            paid_at=utc(row.paid_at) if row.paid_at else None,
        )
