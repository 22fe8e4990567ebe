"""Requested refunds (退款申请) of a paid payable, kept small until the approval workflow comes.

`refund_payable` records a refund of kind "requested" under the payable's lock, so concurrent
requests can never add up to more than was paid. The worker sends it through the original
channel (`services.refunds.execution.run_due_refunds`); when the channel confirms,
`settle_requested_refund` (in the same transaction that marks the refund succeeded) updates the
payable, posts the refund journal (the treasury and special-account slices given back, in
proportion to the payment), writes the payable.refunded event and asks for the red receipt.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.events import EventType
from publicpay.domain.ledger import refund_shares, requested_refund_journal
from publicpay.domain.payables import (
    Payable,
    PayableStatus,
    check_transition,
    payment_shares,
)
from publicpay.domain.refunds import Refund
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.services.ports import Clock
from publicpay.services.receipts.issuing import request_red_receipt
from publicpay.services.unit_of_work import UnitOfWork

REFUNDABLE = (PayableStatus.PAID, PayableStatus.PARTIALLY_REFUNDED)
OPEN_OR_DONE = ("pending", "processing", "succeeded")


def new_refund_no(now: datetime) -> str:
    return "R" + now.astimezone(SHANGHAI).strftime("%y%m%d%H%M%S") + secrets.token_hex(6)


def refund_payable(
    uow: UnitOfWork, payment_code: str, amount_fen: int, reason: str, *, actor: str, clock: Clock
) -> str:
    """Ask for a refund of `amount_fen` of a paid payable; returns the refund number."""
    now = clock.now()
    if amount_fen <= 0:
        raise ValidationFailed("退款金额必须大于0", errors={"amount_fen": str(amount_fen)})
    if not reason.strip():
        raise ValidationFailed("请填写退款原因", errors={"reason": "不能为空"})
    with uow:
        payable = uow.payables.by_code(payment_code, lock=True)
        if payable is None:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status not in REFUNDABLE or payable.paid_order_id is None:
            raise ValidationFailed(f"缴款单 {payment_code} 未缴款或已全额退款，不能退款")
        committed = sum(
            r.amount_fen
            for r in uow.refunds.for_payable(payable.id)
            if r.kind == "requested" and r.status in OPEN_OR_DONE
        )
        left = (payable.paid_fen or 0) - committed
        if amount_fen > left:
            raise ValidationFailed(
                f"退款金额 {amount_fen} 分超过可退金额 {left} 分",
                errors={"amount_fen": f"最多可退 {left} 分"},
            )
        refund_no = new_refund_no(now)
        uow.refunds.add(
            refund_no,
            payable.id,
            payable.paid_order_id,
            payable.channel or "",
            amount_fen,
            reason[:200],
            "requested",
            now,
        )
        detail = {"refund_no": refund_no, "amount_fen": amount_fen, "reason": reason[:200]}
        uow.audit.append(actor, "refund.requested", payable.payment_code, detail, now)
        uow.commit()
    return refund_no


def lock_refund_payable(uow: UnitOfWork, refund_no: str) -> None:
    """Take the payable's lock before the refund's (the project's lock order)."""
    refund = uow.refunds.by_no(refund_no)
    if refund is not None and refund.kind == "requested":
        uow.payables.by_id(refund.payable_id, lock=True)


def settle_requested_refund(uow: UnitOfWork, refund: Refund, now: datetime) -> None:
    """The channel returned the money: payable, ledger, event, red receipt — one transaction."""
    payable = uow.payables.by_id(refund.payable_id, lock=True)
    assert payable is not None
    refunded_before = payable.refunded_fen
    payable.refunded_fen += refund.amount_fen
    paid = payable.paid_fen or 0
    target = (
        PayableStatus.REFUNDED if payable.refunded_fen >= paid else PayableStatus.PARTIALLY_REFUNDED
    )
    check_transition(payable.status, target)
    payable.status = target
    uow.payables.save(payable)
    shares = payment_shares(payable.lines, uow.catalogue.items(), paid)
    uow.ledger.post(
        requested_refund_journal(
            refund.refund_no,
            refund.channel,
            refund_shares(shares, refunded_before, refund.amount_fen),
        ),
        payable_id=payable.id,
        business_date=business_date(now),
        at=now,
    )
    uow.events.add(
        payable.unit_id,
        EventType.PAYABLE_REFUNDED.value,
        _event(payable, refund),
        now,
        deliver=True,
    )
    request_red_receipt(uow, payable.id, refund.refund_no, now)


def _event(payable: Payable, refund: Refund) -> dict[str, object]:
    return {
        "payment_code": payable.payment_code,
        "biz_no": payable.biz_no,
        "status": payable.status.value,
        "refund_no": refund.refund_no,
        "amount_fen": refund.amount_fen,
        "refunded_fen": payable.refunded_fen,
        "paid_fen": payable.paid_fen,
        "reason": refund.reason,
    }
