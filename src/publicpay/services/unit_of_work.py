"""The unit of work services run their transactions in, as a Protocol (adapters implement it)."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Protocol

from publicpay.domain.events import DomainEvent
from publicpay.services.catalogue.ports import CatalogueRepo
from publicpay.services.devices.ports import DevicesRepo
from publicpay.services.events.ports import EventsRepo
from publicpay.services.messages.ports import MessagesRepo
from publicpay.services.payables.ports import PayablesRepo
from publicpay.services.payments.ports import (
    CartsRepo,
    DiscrepanciesRepo,
    InboxRepo,
    OrdersRepo,
)
from publicpay.services.ports import Box
from publicpay.services.receipts.ports import ReceiptsRepo
from publicpay.services.recording.ports import AuditRepo, LedgerRepo, StatisticsRepo
from publicpay.services.refunds.ports import RefundsRepo
from publicpay.services.shifts.ports import DepositsRepo, ShiftsRepo
from publicpay.services.units.ports import UnitsRepo


class UnitOfWork(Protocol):
    """One transaction. `with uow:` opens it; leaving without `commit()` rolls back."""

    @property
    def box(self) -> Box: ...

    @property
    def payables(self) -> PayablesRepo: ...

    @property
    def catalogue(self) -> CatalogueRepo: ...

    @property
    def orders(self) -> OrdersRepo: ...

    @property
    def inbox(self) -> InboxRepo: ...

    @property
    def discrepancies(self) -> DiscrepanciesRepo: ...

    @property
    def ledger(self) -> LedgerRepo: ...

    @property
    def events(self) -> EventsRepo: ...

    @property
    def refunds(self) -> RefundsRepo: ...

    @property
    def units(self) -> UnitsRepo: ...

    @property
    def audit(self) -> AuditRepo: ...

    @property
    def receipts(self) -> ReceiptsRepo: ...

    @property
    def devices(self) -> DevicesRepo: ...

    @property
    def shifts(self) -> ShiftsRepo: ...

    @property
    def carts(self) -> CartsRepo: ...  # issue 13

    @property  # the cash office (shifts area): deposit slips
    def deposits(self) -> DepositsRepo: ...

    @property
    def messages(self) -> MessagesRepo: ...

    @property  # the statistics' summary rows (issue 10), kept by the recorder
    def statistics(self) -> StatisticsRepo: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def collect(self, events: Iterable[DomainEvent]) -> None:
        """Domain events of this transaction; their effects are recorded at commit."""
        ...

    def flush(self) -> None:
        """Send the queued writes now (before a statement that must read them back)."""
        ...

    def commit(self) -> None:
        """Record the collected events, send every queued write, commit."""
        ...

    def rollback(self) -> None: ...
