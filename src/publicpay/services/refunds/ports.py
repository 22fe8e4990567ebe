"""Ports of refunds, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from publicpay.domain.refunds import Refund


class RefundsRepo(Protocol):
    """`add` and `save` are queued (sent with the commit); reads run at once."""

    def add(self, refund: Refund) -> None: ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Refund]: ...

    def by_no(self, refund_no: str, *, lock: bool = False) -> Refund | None: ...

    def for_payable(self, payable_id: int) -> list[Refund]: ...

    def save(self, refund: Refund) -> None: ...
