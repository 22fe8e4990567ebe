"""Finance's decision on a refund request (退款审批): approve or decline, with a note.

Maker-checker lives in the aggregate (`Refund.approve`): the requester never approves, and a
refund above the threshold needs a second approver different from the first — whatever the
entry point (console, finance API). The approver must cover the payable's region; an
out-of-scope refund answers "not found", like any id outside one's scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.refunds import Refund
from publicpay.services.ports import Clock
from publicpay.services.refunds.requests import RefundScope, check_refundable, in_scope
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Approver:
    """A finance reviewer (user:<name>) or a bureau's system (finance:<app id>), in a region."""

    name: str
    region_code: str


def approve_refund(
    uow: UnitOfWork, refund_no: str, approver: Approver, note: str, *, clock: Clock
) -> Refund:
    return _decide(uow, refund_no, approver, note, approve=True, clock=clock)


def decline_refund(
    uow: UnitOfWork, refund_no: str, approver: Approver, note: str, *, clock: Clock
) -> Refund:
    if not note.strip():
        raise ValidationFailed("驳回退款须填写说明", errors={"note": "不能为空"})
    return _decide(uow, refund_no, approver, note, approve=False, clock=clock)


def retry_refund(uow: UnitOfWork, refund_no: str, approver: Approver, *, clock: Clock) -> Refund:
    """A refund the channel refused (escalated to finance) is sent again under its own number,
    if what it asks is still refundable."""
    now = clock.now()
    with uow:
        refund = locked_in_scope(uow, refund_no, approver)
        payable = uow.payables.by_id(refund.payable_id)
        assert payable is not None
        check_refundable(uow, payable, refund.amount_fen)
        uow.collect(refund.retry(approver.name, at=now))
        uow.refunds.save(refund)
        uow.commit()
    return refund


def locked_in_scope(uow: UnitOfWork, refund_no: str, approver: Approver) -> Refund:
    """The refund, its payable locked first (lock order), if the approver's region covers it."""
    found = uow.refunds.by_no(refund_no)
    payable = uow.payables.by_id(found.payable_id, lock=True) if found else None
    scope = RefundScope(region_code=approver.region_code)
    if found is None or payable is None or not in_scope(uow, payable, scope):
        raise NotFound(f"退款 {refund_no} 不存在")
    refund = uow.refunds.by_no(refund_no, lock=True)
    assert refund is not None
    return refund


def _decide(
    uow: UnitOfWork,
    refund_no: str,
    approver: Approver,
    note: str,
    *,
    approve: bool,
    clock: Clock,
) -> Refund:
    now = clock.now()
    note = note.strip()[:200]
    with uow:
        refund = locked_in_scope(uow, refund_no, approver)
        if approve:
            uow.collect(refund.approve(approver.name, note, at=now))
        else:
            uow.collect(refund.decline(approver.name, note, at=now))
        uow.refunds.save(refund)
        uow.commit()
    return refund
