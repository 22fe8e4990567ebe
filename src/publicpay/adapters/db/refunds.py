"""Refunds table and repository (automatic duplicate-payment refunds now; requested refunds
later)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)

from publicpay.adapters.db.dialect import for_update
from publicpay.adapters.db.leases import claim_leased
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.domain.refunds import Refund

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


class RefundsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        refund_no: str,
        payable_id: int,
        order_id: int,
        channel: str,
        amount_fen: int,
        reason: str,
        kind: str,
        at: datetime,
    ) -> None:
        self._conn.execute(
            insert(refunds).values(
                refund_no=refund_no,
                payable_id=payable_id,
                order_id=order_id,
                channel=channel,
                amount_fen=amount_fen,
                reason=reason,
                kind=kind,
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
        )

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Refund]:
        due = refunds.c.status.in_(["pending", "processing"]) & (refunds.c.next_attempt_at <= now)
        rows = claim_leased(self._conn, refunds, due, (refunds.c.id,), limit, now, lease)
        return [_hydrate(r) for r in rows]

    def by_no(self, refund_no: str, *, lock: bool = False) -> Refund | None:
        stmt = select(refunds).where(refunds.c.refund_no == refund_no)
        row = self._conn.execute(for_update(stmt) if lock else stmt).first()
        return None if row is None else _hydrate(row)

    def for_payable(self, payable_id: int) -> list[Refund]:
        stmt = select(refunds).where(refunds.c.payable_id == payable_id).order_by(refunds.c.id)
        return [_hydrate(r) for r in self._conn.execute(stmt)]

    def set_status(
        self,
        refund_no: str,
        status: str,
        *,
        at: datetime,
        channel_refund_no: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "next_attempt_at": retry_at}
        if status in ("succeeded", "failed"):
            values["completed_at"] = at
        if channel_refund_no:
            values["channel_refund_no"] = channel_refund_no
        self._conn.execute(update(refunds).where(refunds.c.refund_no == refund_no).values(**values))


def _hydrate(row: Any) -> Refund:
    return Refund(
        id=row.id,
        refund_no=row.refund_no,
        payable_id=row.payable_id,
        order_id=row.order_id,
        channel=row.channel,
        amount_fen=row.amount_fen,
        reason=row.reason,
        kind=row.kind,
        status=row.status,
        attempts=row.attempts,
    )
