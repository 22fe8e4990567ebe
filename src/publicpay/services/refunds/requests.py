"""Refund requests (退款申请) of a paid payable.

`request_refund` records a refund of kind "requested", waiting for finance's approval, under the
payable's lock, so concurrent requests can never add up to more than was paid (a request waiting
for approval counts against what is left; a declined or failed one gives it back). Once approved
(`services.refunds.approval`) the worker sends it through the original channel
(`services.refunds.execution.run_due_refunds`), or finance pays it by bank transfer
(`services.refunds.transfers`); when the money is back, `settle_requested_refund` (in the same
transaction that marks the refund succeeded) updates the payable, posts the refund journal (the
treasury and special-account slices given back, in proportion to the payment), writes the
payable.refunded event and asks for the red receipt.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from publicpay.domain.codes import bank_account_problem, mask_account, normalise_bank_account
from publicpay.domain.errors import InvalidTransition, NotFound, ValidationFailed
from publicpay.domain.ledger import refund_shares
from publicpay.domain.payables import Payable, PayableStatus, payment_shares
from publicpay.domain.payments.accounts import region_ancestors
from publicpay.domain.payments.channels import Channel
from publicpay.domain.refunds import (
    DEFAULT_SECOND_APPROVAL_FEN,
    OPEN_OR_DONE,
    Payee,
    Refund,
    RefundExceedsPaid,
    RefundKind,
    RefundRequested,
    RefundStatus,
    approvals_for,
)
from publicpay.domain.time import SHANGHAI
from publicpay.services.ports import Box, Clock
from publicpay.services.unit_of_work import UnitOfWork

REFUNDABLE = (PayableStatus.PAID, PayableStatus.PARTIALLY_REFUNDED)
BANK_TRANSFER_CHANNELS = frozenset({Channel.COUNTER.value, Channel.CASH.value, Channel.CARD.value})
PAYEE_CONTEXT = b"refund_payee"


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    """Above `second_approval_above_fen` a refund needs two different approvers."""

    second_approval_above_fen: int = DEFAULT_SECOND_APPROVAL_FEN


@dataclass(frozen=True, slots=True)
class PayeeAccount:
    """The payer's bank account a counter or cash payment is refunded to (as typed)."""

    name: str
    bank: str
    account_no: str


@dataclass(frozen=True, slots=True)
class RefundScope:
    """Whose payables the requester may refund: one unit (unit API, unit users) or, for
    finance users, a region and below (None: no limit, internal callers)."""

    unit_id: int | None = None
    region_code: str | None = None


def new_refund_no(now: datetime) -> str:
    return "R" + now.astimezone(SHANGHAI).strftime("%y%m%d%H%M%S") + secrets.token_hex(6)


def refund_payable(
    uow: UnitOfWork,
    payment_code: str,
    amount_fen: int,
    reason: str,
    *,
    actor: str,
    clock: Clock,
    policy: RefundPolicy = RefundPolicy(),
    scope: RefundScope = RefundScope(),
    payee: PayeeAccount | None = None,
) -> Refund:
    """Ask for a refund of `amount_fen` of a paid payable; it waits for finance's approval."""
    now = clock.now()
    _check_ask(amount_fen, reason)
    with uow:
        payable = uow.payables.by_code(payment_code, lock=True)
        if payable is None or not in_scope(uow, payable, scope):
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status not in REFUNDABLE or payable.paid_order_id is None:
            raise InvalidTransition(
                f"缴款单 {payment_code} 状态为未缴款、已撤销或已全额退款，不能退款"
            )
        check_refundable(uow, payable, amount_fen)
        refund = Refund(
            id=0,
            refund_no=new_refund_no(now),
            payable_id=payable.id,
            order_id=payable.paid_order_id,
            channel=payable.channel or "",
            amount_fen=amount_fen,
            reason=reason.strip()[:200],
            kind=RefundKind.REQUESTED,
            status=RefundStatus.PENDING_APPROVAL,
            attempts=0,
            created_at=now,
            requested_by=actor,
            approvals_required=approvals_for(amount_fen, policy.second_approval_above_fen),
            payee=_payee(uow.box, payable, payee),
        )
        uow.refunds.add(refund)
        uow.collect([RefundRequested(refund, payable.payment_code, now)])
        uow.commit()
    return refund


def _check_ask(amount_fen: int, reason: str) -> None:
    if amount_fen <= 0:
        raise ValidationFailed("退款金额必须大于0", errors={"amount_fen": str(amount_fen)})
    if not reason.strip():
        raise ValidationFailed("请填写退款原因", errors={"reason": "不能为空"})


def in_scope(uow: UnitOfWork, payable: Payable, scope: RefundScope) -> bool:
    if scope.unit_id is not None:
        return payable.unit_id == scope.unit_id
    if scope.region_code is not None:
        unit = uow.units.get(payable.unit_id)
        return unit is not None and region_covers(scope.region_code, unit.region_code)
    return True


def region_covers(granted: str, region_code: str) -> bool:
    """A region's finance sees its own region and the regions below it (GB/T 2260)."""
    return granted in region_ancestors(region_code)


def refundable_fen(uow: UnitOfWork, payable: Payable) -> int:
    """Paid, less every requested refund waiting, under way or done (read under its lock)."""
    committed = sum(
        r.amount_fen
        for r in uow.refunds.for_payable(payable.id)
        if r.kind is RefundKind.REQUESTED and r.status in OPEN_OR_DONE
    )
    return (payable.paid_fen or 0) - committed


def check_refundable(uow: UnitOfWork, payable: Payable, amount_fen: int) -> None:
    left = refundable_fen(uow, payable)
    if amount_fen > left:
        raise RefundExceedsPaid(
            f"退款金额 {amount_fen / 100:.2f} 元超过可退金额 {left / 100:.2f} 元"
            f"（{amount_fen} 分 > {left} 分）",
            errors={"amount_fen": f"最多可退 {left} 分"},
        )


def _payee(box: Box, payable: Payable, given: PayeeAccount | None) -> Payee | None:
    """Counter and cash payments go back by bank transfer: the account is required, checked,
    sealed; an online payment goes back to where it came from (no account)."""
    if payable.channel not in BANK_TRANSFER_CHANNELS:
        return None
    if given is None or not given.account_no.strip():
        raise ValidationFailed(
            "柜台或现金缴款的退款须通过银行转账，请填写收款人账户",
            errors={"payee.account_no": "必填"},
        )
    number = normalise_bank_account(given.account_no)
    problem = bank_account_problem(number)
    if problem:
        raise ValidationFailed(problem, errors={"payee.account_no": problem})
    name, bank = given.name.strip(), given.bank.strip()
    if not name or not bank:
        raise ValidationFailed(
            "请填写收款人户名和开户银行",
            errors={"payee.name" if not name else "payee.bank": "必填"},
        )
    return Payee(name[:100], bank[:100], mask_account(number), box.seal_text(number, PAYEE_CONTEXT))


def lock_refund_payable(uow: UnitOfWork, refund_no: str) -> None:
    """Take the payable's lock before the refund's (the project's lock order)."""
    refund = uow.refunds.by_no(refund_no)
    if refund is not None and refund.kind is RefundKind.REQUESTED:
        uow.payables.by_id(refund.payable_id, lock=True)


def settle_requested_refund(uow: UnitOfWork, refund: Refund, now: datetime) -> None:
    """The money went back: the payable records it (its events: ledger, webhook, red receipt)
    in the refund's transaction."""
    payable = uow.payables.by_id(refund.payable_id, lock=True)
    assert payable is not None
    paid = payable.paid_fen or 0
    shares = payment_shares(payable.lines, uow.catalogue.items(), paid)
    returned = refund_shares(shares, payable.refunded_fen, refund.amount_fen)
    events = payable.record_refund(
        refund.refund_no, refund.amount_fen, returned, reason=refund.reason, at=now
    )
    uow.collect(events)
    uow.payables.save(payable)
