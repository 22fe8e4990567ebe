"""Ports of refunds, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from publicpay.domain.refunds import Refund


class RefundsRepo(Protocol):
    def add(
        self,
        refund_no: str,
        payable_id: int,
        order_id: int,
        channel: str,
        amount_fen: int,
        reason: str,
        kind: str,
        at: datetime,
    ) -> None: ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Refund]: ...

    def by_no(self, refund_no: str, *, lock: bool = False) -> Refund | None: ...

    def for_payable(self, payable_id: int) -> list[Refund]: ...

    def set_status(
        self,
        refund_no: str,
        status: str,
        *,
        at: datetime,
        channel_refund_no: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...
