"""Refunds (退款): money owed back to a payer, paid through the original channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Refund:
    id: int
    refund_no: str
    payable_id: int
    order_id: int
    channel: str
    amount_fen: int
    reason: str
    kind: str
    status: str
    attempts: int
