"""Refunds table and repository: automatic duplicate-payment refunds and requested refunds
(approval, second approval, the payee account of a bank-transfer refund, sealed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    select,
    update,
)

from publicpay.adapters.db.leases import Leases
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.domain.refunds import Payee, Refund, RefundKind, RefundStatus
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
    Column("status", String(20), nullable=False, index=True),  # RefundStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Ts, nullable=True),
    Column("channel_refund_no", String(64), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("completed_at", Ts, nullable=True),
    # refunds with approval (migration 0015)
    Column("requested_by", String(80), nullable=False, server_default=""),
    Column("approvals_required", Integer, nullable=False, server_default="1"),
    Column("approved_by_1", String(80), nullable=True),
    Column("approved_by_2", String(80), nullable=True),
    Column("decision_note", String(200), nullable=True),
    Column("decided_at", Ts, nullable=True),
    Column("payee_name", String(100), nullable=True),
    Column("payee_bank", String(100), nullable=True),
    Column("payee_account_masked", String(40), nullable=True),
    Column("payee_account_enc", LargeBinary, nullable=True),
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
        approved_by_1=bindparam("approved_by_1"),
        approved_by_2=bindparam("approved_by_2"),
        decision_note=bindparam("decision_note"),
        decided_at=bindparam("decided_at"),
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
            "requested_by": refund.requested_by,
            "approvals_required": refund.approvals_required,
            **_decision(refund),
            **_payee(refund.payee),
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
            **_decision(refund),
        }
        self._sql.queue(Change(_SAVE, params, key=("refunds", refund.refund_no)))


def _decision(refund: Refund) -> dict[str, Any]:
    approved = (*refund.approved_by, None, None)
    return {
        "approved_by_1": approved[0],
        "approved_by_2": approved[1],
        "decision_note": refund.decision_note or None,
        "decided_at": refund.decided_at,
    }


def _payee(payee: Payee | None) -> dict[str, Any]:
    if payee is None:
        return dict.fromkeys(_PAYEE_COLUMNS)
    return {
        "payee_name": payee.name,
        "payee_bank": payee.bank,
        "payee_account_masked": payee.account_masked,
        "payee_account_enc": payee.account_enc,
    }


_PAYEE_COLUMNS = ("payee_name", "payee_bank", "payee_account_masked", "payee_account_enc")


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
        requested_by=row.requested_by,
        approvals_required=row.approvals_required,
        approved_by=tuple(a for a in (row.approved_by_1, row.approved_by_2) if a),
        decision_note=row.decision_note or "",
        decided_at=utc(row.decided_at) if row.decided_at else None,
        payee=(
            Payee(
                row.payee_name,
                row.payee_bank,
                row.payee_account_masked,
                bytes(row.payee_account_enc),
            )
            if row.payee_account_enc is not None
            else None
        ),
    )
