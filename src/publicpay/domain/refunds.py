"""Refunds (退款): money owed back to a payer, paid through the original channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import InvalidTransition
from publicpay.domain.events import DomainEvent


class RefundKind(StrEnum):
    DUPLICATE = "duplicate"  # a second payment of a settled payable, refunded automatically
    REQUESTED = "requested"  # asked for by the unit


class RefundStatus(StrEnum):
    PENDING = "pending"  # to be sent to the channel
    PROCESSING = "processing"  # the channel accepted it and is still paying out
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MANUAL = "manual"  # no channel API (bank counter, cash): returned by finance by hand


_TRANSITIONS: Mapping[RefundStatus, frozenset[RefundStatus]] = {
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
    RefundStatus.FAILED: frozenset(),
}
OPEN_OR_DONE = frozenset(
    {RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.SUCCEEDED, RefundStatus.MANUAL}
)


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

    @property
    def under_way(self) -> bool:
        """Asked for and not yet ended: the money may still go back to the payer."""
        return self.status not in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)

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
