"""Refunds table and repository (automatic duplicate-payment refunds now; requested refunds
later)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    bindparam,
    select,
    update,
)

from publicpay.adapters.db.leases import Leases
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.domain.refunds import Refund, RefundKind, RefundStatus
from publicpay.domain.time import utc

refunds = Table(
    "refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("refund_no", String(32), nullable=False, unique=True),
    Column("payable_id", Id, ForeignKey("payables.id"), nullable=False, index=True),
    Column("order_id", Id, ForeignKey("payment_orders.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # duplicate | requested
    Column("status", String(20), nullable=False),  # pending | processing | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Ts, nullable=True),
    Column("channel_refund_no", String(64), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("completed_at", Ts, nullable=True),
)


_BY_NO = select(refunds).where(refunds.c.refund_no == bindparam("refund_no"))
_BY_NO_LOCKED = _BY_NO.with_for_update()
_FOR_PAYABLE = (
    select(refunds).where(refunds.c.payable_id == bindparam("payable_id")).order_by(refunds.c.id)
)
_DUE = Leases(
    refunds,
    refunds.c.status.in_([RefundStatus.PENDING.value, RefundStatus.PROCESSING.value])
    & (refunds.c.next_attempt_at <= bindparam("now")),
    (refunds.c.id,),
)
_SAVE = (
    update(refunds)
    .where(refunds.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("next_attempt_at"),
        channel_refund_no=bindparam("channel_refund_no"),
        completed_at=bindparam("completed_at"),
    )
)


class RefundsRepository:
    """`add` and `save` are queued (sent with the commit); reads run at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, refund: Refund) -> None:
        row = {
            "refund_no": refund.refund_no,
            "payable_id": refund.payable_id,
            "order_id": refund.order_id,
            "channel": refund.channel,
            "amount_fen": refund.amount_fen,
            "reason": refund.reason,
            "kind": refund.kind.value,
            "status": refund.status.value,
            "attempts": refund.attempts,
            "next_attempt_at": refund.next_attempt_at,
            "created_at": refund.created_at,
        }
        self._sql.queue(Insert(refunds, (row,), key=("refunds", refund.refund_no)))

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Refund]:
        return [_hydrate(r) for r in _DUE.claim(self._sql, now, limit, lease)]

    def by_no(self, refund_no: str, *, lock: bool = False) -> Refund | None:
        row = self._sql.one(_BY_NO_LOCKED if lock else _BY_NO, {"refund_no": refund_no})
        return None if row is None else _hydrate(row)

    def for_payable(self, payable_id: int) -> list[Refund]:
        return [_hydrate(r) for r in self._sql.all(_FOR_PAYABLE, {"payable_id": payable_id})]

    def save(self, refund: Refund) -> None:
        params: dict[str, Any] = {
            "b_id": refund.id,
            "status": refund.status.value,
            "next_attempt_at": refund.next_attempt_at,
            "channel_refund_no": refund.channel_refund_no,
            "completed_at": refund.completed_at,
        }
        self._sql.queue(Change(_SAVE, params, key=("refunds", refund.refund_no)))


def _hydrate(row: Any) -> Refund:
    return Refund(
        id=row.id,
        refund_no=row.refund_no,
        payable_id=row.payable_id,
        order_id=row.order_id,
        channel=row.channel,
        amount_fen=row.amount_fen,
        reason=row.reason,
        kind=RefundKind(row.kind),
        status=RefundStatus(row.status),
        attempts=row.attempts,
        created_at=utc(row.created_at),
        next_attempt_at=utc(row.next_attempt_at) if row.next_attempt_at else None,
        channel_refund_no=row.channel_refund_no,
        completed_at=utc(row.completed_at) if row.completed_at else None,
    )
