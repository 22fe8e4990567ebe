"""Events: domain events (what happened to an aggregate, recorded by the unit of work), and the
events the platform tells business systems about (webhooks and the event list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class DomainEvent:
    """Something that happened to an aggregate. Intent-named aggregate methods return these;
    the unit of work collects them and, at commit, the recorder
    (`services.recording.recorder`) writes what each one means: ledger journal, outbox message,
    audit row, jobs — in the same transaction as the state change."""

    __slots__ = ()


class DeliveryStatus(StrEnum):
    """Where an event stands in the webhook outbox."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the retry schedule; kept for manual replay
    NONE = "none"  # listed in the event log, never delivered (e.g. payable.created)


class EventType(StrEnum):
    PAYABLE_CREATED = "payable.created"
    PAYABLE_PAID = "payable.paid"
    PAYABLE_REFUNDED = "payable.refunded"
    PAYABLE_CANCELLED = "payable.cancelled"
    PAYABLE_REVERSED = "payable.reversed"  # a counter payment reversed (冲正): unpaid again
    RECEIPT_ISSUED = "receipt.issued"
    # the cash office: listed in the unit's event log, not delivered as webhooks
    SHIFT_CLOSED = "shift.closed"
    DEPOSIT_PREPARED = "deposit.prepared"
    DEPOSIT_CREDITED = "deposit.credited"


class DiscrepancyKind(StrEnum):
    """Recorded anomalies: never silently dropped (see spec A1, C3)."""

    AMOUNT_MISMATCH = "amount_mismatch"
    LATE_SUCCESS = "late_success"  # the channel reports success for an order we had closed
    DUPLICATE_PAYMENT = "duplicate_payment"  # a second success for a paid payable
    PAYMENT_FOR_CLOSED_PAYABLE = "payment_for_closed_payable"  # cancelled/expired payable paid
    UNKNOWN_ORDER = "unknown_order"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    cursor: int
    event_id: str
    unit_id: int
    type: str
    data: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    delivery: DeliveryStatus = DeliveryStatus.PENDING
