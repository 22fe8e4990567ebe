"""Read side of refunds for the console: the approval queue and one refund with everything an
approver looks at (the payable, its payments, earlier refunds, its receipts).

The acting user's scope is part of every statement's WHERE clause (`queries.scope`): a refund of
a unit out of scope is never read, and its number finds nothing (the page answers 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.units import units
from publicpay.domain.access import Actor
from publicpay.domain.codes import mask_name
from publicpay.domain.refunds import STATUS_LABELS, RefundKind, RefundStatus
from publicpay.domain.time import utc

QUEUE_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RefundRow:
    refund_no: str
    payment_code: str
    payable_id: int
    unit_id: int
    unit_name: str
    payer_masked: str
    channel: str
    amount_fen: int
    paid_fen: int
    reason: str
    kind: RefundKind
    status: RefundStatus
    requested_by: str
    approvals_required: int
    approved_by: tuple[str, ...]
    decision_note: str
    attempts: int
    payee_masked: str | None
    payee_name: str | None
    payee_bank: str | None
    bank_serial: str | None
    created_at: datetime
    completed_at: datetime | None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True, slots=True)
class PaymentRow:
    order_no: str
    channel: str
    method: str
    amount_fen: int
    status: str
    channel_trade_no: str | None
    paid_at: datetime | None


def _joined(actor: Actor) -> Select[tuple[object, ...]]:
    return (
        select(
            refunds,
            payables.c.payment_code,
            payables.c.unit_id,
            payables.c.payer_name,
            payables.c.payer_type,
            payables.c.paid_fen,
            units.c.name.label("unit_name"),
        )
        .join(payables, payables.c.id == refunds.c.payable_id)
        .join(units, units.c.id == payables.c.unit_id)
        .where(unit_scope(actor, payables.c.unit_id, units.c.region_code))
    )


def refund_queue(
    conn: Connection,
    actor: Actor,
    statuses: tuple[RefundStatus, ...] = (),
    limit: int | None = QUEUE_LIMIT,
) -> list[RefundRow]:
    """Refunds the actor may see, newest first; `statuses` narrows them (the queue's tabs);
    `limit` None: all of them (exports)."""
    stmt = _joined(actor).order_by(refunds.c.id.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(refunds.c.status.in_([s.value for s in statuses]))
    return [_row(r) for r in conn.execute(stmt)]


def refund_in_scope(conn: Connection, actor: Actor, refund_no: str) -> RefundRow | None:
    found = conn.execute(_joined(actor).where(refunds.c.refund_no == refund_no)).first()
    return None if found is None else _row(found)


def refunds_of_payable(conn: Connection, actor: Actor, payable_id: int) -> list[RefundRow]:
    stmt = _joined(actor).where(refunds.c.payable_id == payable_id).order_by(refunds.c.id)
    return [_row(r) for r in conn.execute(stmt)]


def payments_of_payable(conn: Connection, payable_id: int) -> list[PaymentRow]:
    """The payable's channel orders that were paid (or are being refunded), oldest first."""
    stmt = (
        select(payment_orders)
        .where(payment_orders.c.payable_id == payable_id)
        .where(payment_orders.c.paid_at.is_not(None))
        .order_by(payment_orders.c.id)
    )
    return [
        PaymentRow(
            r.order_no,
            r.channel,
            r.method,
            r.amount_fen,
            r.status,
            r.channel_trade_no,
            utc(r.paid_at) if r.paid_at else None,
        )
        for r in conn.execute(stmt)
    ]


def payable_in_scope(conn: Connection, actor: Actor, payment_code: str) -> int | None:
    """The id of the payable with this code if the actor may see it."""
    stmt = (
        select(payables.c.id)
        .join(units, units.c.id == payables.c.unit_id)
        .where(payables.c.payment_code == payment_code)
        .where(unit_scope(actor, payables.c.unit_id, units.c.region_code))
    )
    found = conn.execute(stmt).scalar()
    return None if found is None else int(found)


def _row(row: Any) -> RefundRow:
    """A row of `_joined`; a person's name is masked (an organisation's is public)."""
    approved = tuple(a for a in (row.approved_by_1, row.approved_by_2) if a)
    return RefundRow(
        refund_no=row.refund_no,
        payment_code=row.payment_code,
        payable_id=row.payable_id,
        unit_id=row.unit_id,
        unit_name=row.unit_name,
        payer_masked=row.payer_name if row.payer_type == "org" else mask_name(row.payer_name),
        channel=row.channel,
        amount_fen=row.amount_fen,
        paid_fen=row.paid_fen or 0,
        reason=row.reason,
        kind=RefundKind(row.kind),
        status=RefundStatus(row.status),
        requested_by=row.requested_by or "system",
        approvals_required=row.approvals_required,
        approved_by=approved,
        decision_note=row.decision_note or "",
        attempts=row.attempts,
        payee_masked=row.payee_account_masked,
        payee_name=row.payee_name,
        payee_bank=row.payee_bank,
        bank_serial=row.channel_refund_no,
        created_at=utc(row.created_at),
        completed_at=utc(row.completed_at) if row.completed_at else None,
    )
