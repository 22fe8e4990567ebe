"""Events the platform tells business systems about (webhooks and the event list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    PAYABLE_CREATED = "payable.created"
    PAYABLE_PAID = "payable.paid"
    PAYABLE_REFUNDED = "payable.refunded"
    PAYABLE_CANCELLED = "payable.cancelled"
    PAYABLE_REVERSED = "payable.reversed"  # a counter payment reversed (冲正): unpaid again
    RECEIPT_ISSUED = "receipt.issued"


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
    delivery: str = "pending"
