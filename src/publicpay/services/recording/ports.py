"""Ports of the ledger and the audit trail, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from publicpay.domain.ledger import Journal, JournalKind
from publicpay.domain.statistics import PaymentTally


class LedgerRepo(Protocol):
    def post(
        self, journal: Journal, *, payable_id: int | None, business_date: date, at: datetime
    ) -> None: ...

    def journal(self, kind: JournalKind, ref: str) -> Journal | None:
        """The first journal of `kind` for `ref`, as posted (None: not posted)."""
        ...


class AuditRepo(Protocol):
    def append(
        self, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
    ) -> None: ...


class StatisticsRepo(Protocol):
    def tally(self, t: PaymentTally) -> None: ...

    def fold(self) -> int: ...


class JournalReader(LedgerRepo, Protocol):
    def journal(self, kind: JournalKind, ref: str) -> Journal | None: ...
