"""The recorder: what each domain event means for the books and the outside world, written in
one place.

Aggregates decide (`payable.mark_paid(...)` checks the transition and returns `PayablePaid`);
the unit of work collects the events and, at commit, hands them here. Each handler writes the
event's effects through the repositories — ledger journal, outbox message (webhook event), audit
row, jobs (receipts, refunds), discrepancies — queued with the state change, so they commit in
the same transaction or not at all. A service never writes these itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from publicpay.domain.clearing import (
    ClearingConfirmed,
    ClearingFailed,
    ClearingInstructed,
    clearing_journal,
    settlement_journal,
)
from publicpay.domain.devices import DeviceKind
from publicpay.domain.events import DiscrepancyKind, DomainEvent, EventType
from publicpay.domain.ledger import (
    cash_deposit_journal,
    cash_difference_journal,
    deposit_credited_journal,
    duplicate_payment_journal,
    exception_refund_journal,
    payment_journal,
    refund_paid_journal,
    refund_transfer_journal,
    requested_refund_journal,
    reversal_journal,
    write_off_journal,
)
from publicpay.domain.messages import MessageKind
from publicpay.domain.payables import (
    DuplicatePayment,
    PayableCancelled,
    PayablePaid,
    PayableRefunded,
    PayableRegistered,
    PayableReversed,
)
from publicpay.domain.payments.orders import AmountMismatch, LateSuccess, Order
from publicpay.domain.receipts.records import JobKind
from publicpay.domain.reconciliation import (
    DifferenceWrittenOff,
    ExceptionAssigned,
    ExceptionRefundBooked,
    ExceptionResolved,
    ExceptionReviewed,
    RefundTransferDebited,
)
from publicpay.domain.refunds import (
    Refund,
    RefundApproved,
    RefundDeclined,
    RefundFailed,
    RefundHandedOver,
    RefundKind,
    RefundRequested,
    RefundRetried,
    RefundStatus,
    RefundSucceeded,
    RefundTransferred,
)
from publicpay.domain.shifts import (
    DepositCredited,
    DepositPrepared,
    ShiftClosed,
    ShiftSettled,
    difference_text,
)
from publicpay.domain.statistics import payment_tally
from publicpay.domain.time import business_date
from publicpay.services.unit_of_work import UnitOfWork


def record(uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
    """Write the effects of `events`, in order (called by the unit of work at commit)."""
    for event in events:
        _HANDLERS[type(event)](uow, event)


def _registered(uow: UnitOfWork, e: PayableRegistered) -> None:
    p = e.payable
    data = {"payment_code": p.payment_code, "biz_no": p.biz_no}
    uow.events.add(p.unit_id, EventType.PAYABLE_CREATED.value, data, e.at, deliver=False)
    detail: dict[str, Any] = {"biz_no": p.biz_no}
    if e.batch_id is not None:
        detail["batch_id"] = e.batch_id
    uow.audit.append(e.actor, "payable.register", p.payment_code, detail, e.at)
    uow.messages.add(p.id, p.unit_id, MessageKind.REGISTERED, e.at)  # N3: the payer's link


def _cancelled(uow: UnitOfWork, e: PayableCancelled) -> None:
    p = e.payable
    data = {"payment_code": p.payment_code, "biz_no": p.biz_no, "status": p.status.value}
    uow.events.add(p.unit_id, EventType.PAYABLE_CANCELLED.value, data, e.at, deliver=True)
    uow.audit.append(e.actor, "payable.cancel", p.payment_code, {}, e.at)


def _paid(uow: UnitOfWork, e: PayablePaid) -> None:
    p, o = e.payable, e.order
    journal = payment_journal(o.order_no, o.channel, e.shares)
    uow.ledger.post(journal, payable_id=p.id, business_date=business_date(e.at), at=e.at)
    uow.statistics.tally(payment_tally(p, o, journal))
    uow.events.add(p.unit_id, EventType.PAYABLE_PAID.value, paid_event_data(e), e.at, deliver=True)
    uow.receipts.enqueue(JobKind.ISSUE, o.order_no, p.id, _issuing_point(uow, o), e.at)
    detail = {"order_no": o.order_no, "amount_fen": o.amount_fen}
    uow.audit.append(f"channel:{o.channel}", "payable.paid", p.payment_code, detail, e.at)
    uow.messages.add(p.id, p.unit_id, MessageKind.PAID, e.at)  # N3: the payment and receipt link


def _issuing_point(uow: UnitOfWork, order: Order) -> str | None:
    """A payment taken at a kiosk or a window's POS terminal is receipted from the device's own
    stock (its 开票点); a device without one (or no device) draws from the unit's stock."""
    if order.device_id is None:
        return None
    device = uow.devices.get(order.device_id)
    if device is None or device.kind not in (DeviceKind.KIOSK, DeviceKind.POS):
        return None
    return device.issuing_point


def paid_event_data(e: PayablePaid) -> dict[str, object]:
    p, o = e.payable, e.order
    return {
        "payment_code": p.payment_code,
        "biz_no": p.biz_no,
        "status": p.status.value,
        "amount_fen": p.amount_fen,
        "paid_fen": o.amount_fen,
        "channel": o.channel,
        "order_no": o.order_no,
        "channel_trade_no": o.channel_trade_no,
        "paid_at": o.paid_at.isoformat() if o.paid_at else None,
    }


def _duplicate(uow: UnitOfWork, e: DuplicatePayment) -> None:
    """重复支付: owed back to the payer (ledger), refunded automatically (a refund job)."""
    p, o = e.payable, e.order
    journal = duplicate_payment_journal(o.order_no, o.channel, o.amount_fen)
    uow.ledger.post(journal, payable_id=p.id, business_date=business_date(e.at), at=e.at)
    uow.statistics.tally(payment_tally(p, o, None))  # a succeeded payment all the same
    uow.refunds.add(
        Refund(
            id=0,
            refund_no=e.refund_no,
            payable_id=p.id,
            order_id=o.id,
            channel=o.channel,
            amount_fen=o.amount_fen,
            reason="重复支付自动退款",
            kind=RefundKind.DUPLICATE,
            status=RefundStatus.PENDING,
            attempts=0,
            created_at=e.at,
            next_attempt_at=e.at,
        )
    )
    kind = (
        DiscrepancyKind.PAYMENT_FOR_CLOSED_PAYABLE
        if e.for_closed_payable
        else DiscrepancyKind.DUPLICATE_PAYMENT
    )
    detail = {"payable_status": p.status.value, "refund_no": e.refund_no}
    uow.discrepancies.add(kind, o.channel, o.order_no, p.id, o.amount_fen, detail, e.at)
    audit = {"order_no": o.order_no, "refund_no": e.refund_no, "amount_fen": o.amount_fen}
    uow.audit.append(f"channel:{o.channel}", "payment.duplicate", p.payment_code, audit, e.at)


def _reversed(uow: UnitOfWork, e: PayableReversed) -> None:
    p, o = e.payable, e.order
    journal = reversal_journal(e.payment)
    uow.ledger.post(journal, payable_id=p.id, business_date=business_date(e.at), at=e.at)
    uow.statistics.tally(payment_tally(p, o, e.payment, sign=-1))  # no longer a payment
    data = {
        "payment_code": p.payment_code,
        "biz_no": p.biz_no,
        "status": p.status.value,
        "order_no": o.order_no,
        "amount_fen": o.amount_fen,
        "reason": e.reason,
        "reversed_at": e.at.isoformat(),
    }
    uow.events.add(p.unit_id, EventType.PAYABLE_REVERSED.value, data, e.at, deliver=True)
    detail = {"order_no": o.order_no, "bank_serial": o.channel_trade_no, "reason": e.reason}
    uow.audit.append(e.by, "payment.reversed", p.payment_code, detail, e.at)


def _refunded(uow: UnitOfWork, e: PayableRefunded) -> None:
    """A requested refund paid out: the slices go back, the unit is told, the receipt is
    reversed (red receipt, and a new one for what is kept)."""
    p = e.payable
    journal = requested_refund_journal(e.refund_no, p.channel or "", e.returned)
    uow.ledger.post(journal, payable_id=p.id, business_date=business_date(e.at), at=e.at)
    data = {
        "payment_code": p.payment_code,
        "biz_no": p.biz_no,
        "status": p.status.value,
        "refund_no": e.refund_no,
        "amount_fen": e.amount_fen,
        "refunded_fen": p.refunded_fen,
        "paid_fen": p.paid_fen,
        "reason": e.reason,
    }
    uow.events.add(p.unit_id, EventType.PAYABLE_REFUNDED.value, data, e.at, deliver=True)
    uow.receipts.enqueue(JobKind.REFUND, e.refund_no, p.id, None, e.at)


def _late_success(uow: UnitOfWork, e: LateSuccess) -> None:
    o = e.order
    detail = {"order_status": e.was.value, "recovered": True}
    uow.discrepancies.add(
        DiscrepancyKind.LATE_SUCCESS,
        o.channel,
        o.order_no,
        o.payable_id,
        o.amount_fen,
        detail,
        e.at,
    )


def _amount_mismatch(uow: UnitOfWork, e: AmountMismatch) -> None:
    o = e.order
    detail = {"expected_fen": o.amount_fen, "reported_fen": e.reported_fen}
    uow.discrepancies.add(
        DiscrepancyKind.AMOUNT_MISMATCH,
        o.channel,
        o.order_no,
        e.payable_id,
        e.reported_fen,
        detail,
        e.at,
    )


def _refund_succeeded(uow: UnitOfWork, e: RefundSucceeded) -> None:
    r = e.refund
    if r.kind is RefundKind.DUPLICATE:  # a requested refund's journal follows the payable's
        journal = refund_paid_journal(r.refund_no, r.channel, r.amount_fen)
        uow.ledger.post(
            journal, payable_id=r.payable_id, business_date=business_date(e.at), at=e.at
        )
    uow.audit.append("system", "refund.succeeded", r.refund_no, {"amount_fen": r.amount_fen}, e.at)


def _refund_failed(uow: UnitOfWork, e: RefundFailed) -> None:
    uow.audit.append("system", "refund.failed", e.refund.refund_no, {"raw": e.why}, e.at)


def _refund_handed_over(uow: UnitOfWork, e: RefundHandedOver) -> None:
    detail = {"channel": e.refund.channel}
    uow.audit.append("system", "refund.manual", e.refund.refund_no, detail, e.at)


# refunds with approval (issue 11): every decision is an audit row of its decider


def _refund_requested(uow: UnitOfWork, e: RefundRequested) -> None:
    r = e.refund
    detail: dict[str, Any] = {
        "refund_no": r.refund_no,
        "amount_fen": r.amount_fen,
        "reason": r.reason,
        "approvals_required": r.approvals_required,
    }
    if r.payee is not None:
        detail["payee_account"] = r.payee.account_masked
    uow.audit.append(r.requested_by, "refund.requested", e.payment_code, detail, e.at)


def _refund_approved(uow: UnitOfWork, e: RefundApproved) -> None:
    r = e.refund
    detail = {"amount_fen": r.amount_fen, "note": e.note, "final": e.final}
    uow.audit.append(e.by, "refund.approved", r.refund_no, detail, e.at)


def _refund_declined(uow: UnitOfWork, e: RefundDeclined) -> None:
    detail = {"amount_fen": e.refund.amount_fen, "note": e.note}
    uow.audit.append(e.by, "refund.declined", e.refund.refund_no, detail, e.at)


def _refund_retried(uow: UnitOfWork, e: RefundRetried) -> None:
    detail = {"amount_fen": e.refund.amount_fen}
    uow.audit.append(e.by, "refund.retried", e.refund.refund_no, detail, e.at)


def _refund_transferred(uow: UnitOfWork, e: RefundTransferred) -> None:
    detail = {"amount_fen": e.refund.amount_fen, "bank_serial": e.bank_serial}
    uow.audit.append(e.by, "refund.transferred", e.refund.refund_no, detail, e.at)


# -- reconciliation (issue 12) ---------------------------------------------------------------


def _exception_assigned(uow: UnitOfWork, e: ExceptionAssigned) -> None:
    detail = {"assignee": e.assignee}
    uow.audit.append(e.actor, "recon.exception.assign", f"exception:{e.exception_id}", detail, e.at)


def _exception_resolved(uow: UnitOfWork, e: ExceptionResolved) -> None:
    detail = {"action": e.action.value, "reason": e.reason}
    uow.audit.append(
        e.actor, "recon.exception.resolve", f"exception:{e.exception_id}", detail, e.at
    )


def _exception_reviewed(uow: UnitOfWork, e: ExceptionReviewed) -> None:
    detail = {"approved": e.approved}
    uow.audit.append(e.actor, "recon.exception.review", f"exception:{e.exception_id}", detail, e.at)


def _written_off(uow: UnitOfWork, e: DifferenceWrittenOff) -> None:
    """核销, confirmed by the reviewer: the difference leaves the channel's receivable (or the
    collection account) for write-off income, loss or suspense."""
    w = e.write_off
    ref = f"exception:{e.exception_id}"
    journal = write_off_journal(ref, w.debit, w.credit, w.amount_fen)
    uow.ledger.post(journal, payable_id=None, business_date=e.business_day, at=e.at)
    detail = {**w.as_dict(), "reason": e.reason}
    uow.audit.append(e.actor, "recon.exception.write_off", ref, detail, e.at)


def _exception_refund(uow: UnitOfWork, e: ExceptionRefundBooked) -> None:
    """Money the channel holds for no payable, refunded: owed back to the payer (ledger), and a
    refund the refunds area executes through the original channel (its worker)."""
    r = e.refund
    journal = exception_refund_journal(r.refund_no, r.channel, r.amount_fen)
    uow.ledger.post(journal, payable_id=r.payable_id, business_date=e.business_day, at=e.at)
    uow.refunds.add(r)
    detail = {"order_no": e.order_no, "refund_no": r.refund_no, "amount_fen": r.amount_fen}
    uow.audit.append(e.actor, "recon.exception.refund", f"exception:{e.exception_id}", detail, e.at)


def _refund_debited(uow: UnitOfWork, e: RefundTransferDebited) -> None:
    """The bank paid a transfer refund out of the collection account (its statement shows it)."""
    journal = refund_transfer_journal(e.refund_no, e.channel, e.amount_fen)
    uow.ledger.post(journal, payable_id=e.payable_id, business_date=e.business_day, at=e.at)
    detail = {
        "amount_fen": e.amount_fen,
        "statement_ref": e.statement_ref,
        "business_day": e.business_day.isoformat(),
    }
    uow.audit.append(e.actor, "recon.refund.debited", e.refund_no, detail, e.at)


def _clearing_instructed(uow: UnitOfWork, e: ClearingInstructed) -> None:
    """The channels' settlements into the collection account (fees netted), then the audit."""
    w = e.window
    for settlement in e.settlements:
        journal = settlement_journal(w.business_day, settlement)
        if journal is not None:
            uow.ledger.post(journal, payable_id=None, business_date=w.business_day, at=e.at)
    detail = {
        "voucher_no": w.voucher_no,
        "total_fen": w.total_fen,
        "transfer_refunds_fen": w.transfer_refunds_fen,
        "by_level": w.by_level,
    }
    uow.audit.append(e.actor, "clearing.instruct", f"clearing:{w.id}", detail, e.at)


def _clearing_confirmed(uow: UnitOfWork, e: ClearingConfirmed) -> None:
    """入库: the collection account is cleared to the treasury per level and the special
    account."""
    w = e.window
    journal = clearing_journal(w.id, w.by_level)
    if journal is not None:
        uow.ledger.post(journal, payable_id=None, business_date=w.business_day, at=e.at)
    detail = {"voucher_no": w.voucher_no, "total_fen": w.total_fen}
    uow.audit.append(e.actor, "clearing.confirm", f"clearing:{w.id}", detail, e.at)


def _clearing_failed(uow: UnitOfWork, e: ClearingFailed) -> None:
    detail = {"voucher_no": e.window.voucher_no, "reason": e.reason}
    uow.audit.append(e.actor, "clearing.fail", f"clearing:{e.window.id}", detail, e.at)


# --- the cash office (shifts) -------------------------------------------------------------


def _shift_closed(uow: UnitOfWork, e: ShiftClosed) -> None:
    s = e.shift
    assert s.closing is not None
    data = {
        "shift_id": s.id,
        "window_id": s.window_id,
        "cashier": s.cashier,
        "status": s.status.value,
        "counted_fen": s.closing.counted_fen,
        "expected_cash_fen": s.expected_cash_fen,
        "difference_fen": s.difference_fen,
        "takings": s.closing.takings.as_dict(),
    }
    if s.unit_id is not None:
        uow.events.add(s.unit_id, EventType.SHIFT_CLOSED.value, data, e.at, deliver=False)
    detail = {k: v for k, v in data.items() if k != "shift_id"}
    uow.audit.append(e.by, "shift.close", f"shift:{s.id}", detail, e.at)


def _shift_settled(uow: UnitOfWork, e: ShiftSettled) -> None:
    s = e.shift
    if s.difference_fen:
        journal = cash_difference_journal(f"shift:{s.id}", s.difference_fen)
        uow.ledger.post(journal, payable_id=None, business_date=business_date(e.at), at=e.at)
    if s.confirmation is not None:
        detail = {"difference": difference_text(s.difference_fen), "note": s.confirmation.note}
        uow.audit.append(e.by, "shift.confirm", f"shift:{s.id}", detail, e.at)


def _deposit_prepared(uow: UnitOfWork, e: DepositPrepared) -> None:
    d = e.deposit
    journal = cash_deposit_journal(d.deposit_no, d.amount_fen)
    uow.ledger.post(journal, payable_id=None, business_date=d.business_date, at=e.at)
    data = {"deposit_no": d.deposit_no, "shift_id": d.shift_id, "amount_fen": d.amount_fen}
    if d.unit_id is not None:
        uow.events.add(d.unit_id, EventType.DEPOSIT_PREPARED.value, data, e.at, deliver=False)
    uow.audit.append(e.by, "deposit.prepare", d.deposit_no, data, e.at)


def _deposit_credited(uow: UnitOfWork, e: DepositCredited) -> None:
    d, credit = e.deposit, e.deposit.credit
    assert credit is not None
    journal = deposit_credited_journal(d.deposit_no, d.amount_fen)
    uow.ledger.post(journal, payable_id=None, business_date=credit.credited_on, at=e.at)
    data = {
        "deposit_no": d.deposit_no,
        "amount_fen": d.amount_fen,
        "statement_ref": credit.statement_ref,
        "credited_on": credit.credited_on.isoformat(),
    }
    if d.unit_id is not None:
        uow.events.add(d.unit_id, EventType.DEPOSIT_CREDITED.value, data, e.at, deliver=False)
    uow.audit.append(credit.by, "deposit.credited", d.deposit_no, data, e.at)


_HANDLERS: dict[type[DomainEvent], Callable[[UnitOfWork, Any], None]] = {
    PayableRegistered: _registered,
    PayableCancelled: _cancelled,
    PayablePaid: _paid,
    DuplicatePayment: _duplicate,
    PayableReversed: _reversed,
    PayableRefunded: _refunded,
    LateSuccess: _late_success,
    AmountMismatch: _amount_mismatch,
    RefundSucceeded: _refund_succeeded,
    RefundFailed: _refund_failed,
    RefundHandedOver: _refund_handed_over,
    RefundRequested: _refund_requested,
    RefundApproved: _refund_approved,
    RefundDeclined: _refund_declined,
    RefundRetried: _refund_retried,
    RefundTransferred: _refund_transferred,
    # reconciliation (issue 12)
    ExceptionAssigned: _exception_assigned,
    ExceptionResolved: _exception_resolved,
    ExceptionReviewed: _exception_reviewed,
    DifferenceWrittenOff: _written_off,
    ExceptionRefundBooked: _exception_refund,
    RefundTransferDebited: _refund_debited,
    ClearingInstructed: _clearing_instructed,
    ClearingConfirmed: _clearing_confirmed,
    ClearingFailed: _clearing_failed,
    # the cash office (shifts)
    ShiftClosed: _shift_closed,
    ShiftSettled: _shift_settled,
    DepositPrepared: _deposit_prepared,
    DepositCredited: _deposit_credited,
}
