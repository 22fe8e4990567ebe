"""Refunds (退款): money owed back to a payer, paid through the original channel.

A refund the unit asks for waits for finance's approval (maker ≠ checker; above the threshold a
second, different approver); once approved it goes to the original channel, or — for a counter
or cash payment, which no channel API can return — to a bank transfer to the payee's account,
completed when finance records the bank's confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, Forbidden, InvalidTransition
from publicpay.domain.events import DomainEvent


class RefundKind(StrEnum):
    DUPLICATE = "duplicate"  # a second payment of a settled payable, refunded automatically
    REQUESTED = "requested"  # asked for by the unit


class RefundStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # requested by the unit, waiting for finance
    DECLINED = "declined"  # finance said no: nothing was returned
    PENDING = "pending"  # approved (or automatic): to be sent to the channel
    PROCESSING = "processing"  # the channel accepted it and is still paying out
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MANUAL = "manual"  # no channel API (bank counter, cash): returned by finance by hand


_TRANSITIONS: Mapping[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.PENDING_APPROVAL: frozenset(
        {RefundStatus.PENDING_APPROVAL, RefundStatus.PENDING, RefundStatus.DECLINED}
    ),
    RefundStatus.DECLINED: frozenset(),
    RefundStatus.PENDING: frozenset(
        {
            RefundStatus.PENDING,
            RefundStatus.PROCESSING,
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.MANUAL,
        }
    ),
    RefundStatus.PROCESSING: frozenset(
        {RefundStatus.PROCESSING, RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.FAILED}
    ),
    RefundStatus.MANUAL: frozenset({RefundStatus.SUCCEEDED}),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.FAILED: frozenset({RefundStatus.PENDING}),  # retried by finance (same number)
}
OPEN_OR_DONE = frozenset(
    {
        RefundStatus.PENDING_APPROVAL,
        RefundStatus.PENDING,
        RefundStatus.PROCESSING,
        RefundStatus.SUCCEEDED,
        RefundStatus.MANUAL,
    }
)

# what the unit API says (Public contract): approved ones waiting for the worker are
# `approved`; a bank transfer finance has still to confirm is `processing`
PUBLIC_STATUS: Mapping[RefundStatus, str] = {
    RefundStatus.PENDING_APPROVAL: "pending_approval",
    RefundStatus.DECLINED: "declined",
    RefundStatus.PENDING: "approved",
    RefundStatus.PROCESSING: "processing",
    RefundStatus.MANUAL: "processing",
    RefundStatus.SUCCEEDED: "succeeded",
    RefundStatus.FAILED: "failed",
}

STATUS_LABELS: Mapping[RefundStatus, str] = {
    RefundStatus.PENDING_APPROVAL: "待审批",
    RefundStatus.DECLINED: "已驳回",
    RefundStatus.PENDING: "已批准，待退款",
    RefundStatus.PROCESSING: "渠道退款中",
    RefundStatus.MANUAL: "待银行转账",
    RefundStatus.SUCCEEDED: "退款成功",
    RefundStatus.FAILED: "退款失败",
}


class SelfApproval(Forbidden):
    """Maker-checker: whoever asked for a refund (or already approved it) cannot approve it."""

    code = "self_approval"
    title = "不能审批本人提交或已审批的退款"


class RefundExceedsPaid(Conflict):
    """Never more than was paid: what is asked for exceeds what is left to refund."""

    code = "refund_exceeds_refundable"
    title = "退款金额超过可退金额"


DEFAULT_SECOND_APPROVAL_FEN = 100_000  # above 1,000.00 yuan a second approver is needed


def approvals_for(amount_fen: int, second_approval_above_fen: int) -> int:
    return 2 if amount_fen > second_approval_above_fen else 1


@dataclass(frozen=True, slots=True)
class Payee:
    """Where a bank-transfer refund goes: the account number is sealed, screens see the mask."""

    name: str
    bank: str
    account_masked: str
    account_enc: bytes


def check_transition(current: RefundStatus, target: RefundStatus) -> None:
    if target not in _TRANSITIONS[current]:
        raise InvalidTransition(f"退款状态 {current} 不能变为 {target}")


@dataclass(slots=True)
class Refund:
    id: int
    refund_no: str
    payable_id: int
    order_id: int
    channel: str
    amount_fen: int
    reason: str
    kind: RefundKind
    status: RefundStatus
    attempts: int
    created_at: datetime | None = None
    next_attempt_at: datetime | None = None
    channel_refund_no: str | None = None
    completed_at: datetime | None = None
    requested_by: str = ""  # who asked (unit:<app id>, user:<name>); never its approver
    approvals_required: int = 1
    approved_by: tuple[str, ...] = ()
    decision_note: str = ""
    decided_at: datetime | None = None
    payee: Payee | None = None  # bank transfer (counter and cash payments)

    @property
    def under_way(self) -> bool:
        """Asked for and not yet ended (waiting for approval included): the money may still go
        back to the payer."""
        return self.status not in (
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.DECLINED,
        )

    @property
    def public_status(self) -> str:
        return PUBLIC_STATUS[self.status]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    def approve(self, by: str, note: str, *, at: datetime) -> list[DomainEvent]:
        """One approval; the last one required sends the refund on its way (`final`)."""
        self._check_decider(by)
        self.approved_by = (*self.approved_by, by)
        final = len(self.approved_by) >= self.approvals_required
        self._move(RefundStatus.PENDING if final else RefundStatus.PENDING_APPROVAL)
        self.decision_note = note
        if final:
            self.decided_at = at
            self.next_attempt_at = at
        return [RefundApproved(self, by, note, final, at)]

    def decline(self, by: str, note: str, *, at: datetime) -> list[DomainEvent]:
        self._check_decider(by)
        self._move(RefundStatus.DECLINED)
        self.decision_note = note
        self.decided_at = self.completed_at = at
        self.next_attempt_at = None
        return [RefundDeclined(self, by, note, at)]

    def _check_decider(self, by: str) -> None:
        if self.status is not RefundStatus.PENDING_APPROVAL:
            raise InvalidTransition(f"退款 {self.refund_no} 当前状态为{self.label}，不能审批")
        if by == self.requested_by:
            raise SelfApproval("退款申请人不能审批本人提交的退款（申请与审批须由不同人员完成）")
        if by in self.approved_by:
            raise SelfApproval("超过审批限额的退款须由另一位审核人复核，同一人不能审批两次")

    def retry(self, by: str, *, at: datetime) -> list[DomainEvent]:
        """Escalated after the channel refused it: finance sends it again, same refund number."""
        self._move(RefundStatus.PENDING)
        self.next_attempt_at = at
        self.completed_at = None
        return [RefundRetried(self, by, at)]

    def record_transfer(self, bank_serial: str, by: str, *, at: datetime) -> list[DomainEvent]:
        """Finance records the bank's confirmation of the transfer to the payee."""
        if self.status is not RefundStatus.MANUAL:
            raise InvalidTransition(f"退款 {self.refund_no} 当前状态为{self.label}，无需登记转账")
        return [
            RefundTransferred(self, bank_serial, by, at),
            *self.mark_succeeded(bank_serial, at=at),
        ]

    def _move(self, target: RefundStatus) -> None:
        check_transition(self.status, target)
        self.status = target

    def postpone(self, *, until: datetime, processing: bool = False) -> None:
        """Try (or query) again at `until`: the channel was unreachable or still paying out."""
        self._move(RefundStatus.PROCESSING if processing else RefundStatus.PENDING)
        self.next_attempt_at = until

    def mark_succeeded(self, channel_refund_no: str | None, *, at: datetime) -> list[DomainEvent]:
        self._move(RefundStatus.SUCCEEDED)
        self.next_attempt_at = None
        self.completed_at = at
        if channel_refund_no:
            self.channel_refund_no = channel_refund_no
        return [RefundSucceeded(self, at)]

    def mark_failed(self, why: str, *, at: datetime) -> list[DomainEvent]:
        self._move(RefundStatus.FAILED)
        self.next_attempt_at = None
        self.completed_at = at
        return [RefundFailed(self, why, at)]

    def hand_over(self, *, at: datetime) -> list[DomainEvent]:
        """No channel to refund through: finance returns the money by hand."""
        self._move(RefundStatus.MANUAL)
        self.next_attempt_at = None
        return [RefundHandedOver(self, at)]


@dataclass(frozen=True, slots=True)
class RefundSucceeded(DomainEvent):
    refund: Refund
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundFailed(DomainEvent):
    refund: Refund
    why: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundHandedOver(DomainEvent):
    refund: Refund
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundRequested(DomainEvent):
    refund: Refund
    payment_code: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundApproved(DomainEvent):
    refund: Refund
    by: str
    note: str
    final: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundDeclined(DomainEvent):
    refund: Refund
    by: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundRetried(DomainEvent):
    refund: Refund
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundTransferred(DomainEvent):
    refund: Refund
    bank_serial: str
    by: str
    at: datetime
