"""`FakeUnitOfWork`: the `UnitOfWork` Protocol in memory, with the real recorder.

    db = FakeDatabase()
    uow = FakeUnitOfWork(db)
    with uow:                      # begins: the tables are snapshotted
        ...                        # the fake repositories read and write `db.tables`
        uow.collect(events)
        uow.commit()               # the REAL recorder writes the events' effects, then the
                                   # queued writes are checked (unique keys, balanced journals)
    # leaving without commit (or `rollback()`) puts the snapshot back

`flush()` records the collected events and sends the queued writes, as `SqlUnitOfWork.flush`
does, so a use case that reads back what it wrote behaves as on the databases.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType

from publicpay.domain.events import DomainEvent
from publicpay.services.recording.recorder import record
from tests.fakes.database import FakeDatabase
from tests.fakes.messages import FakeMessages
from tests.fakes.receipts import FakeReceipts
from tests.fakes.repositories import (
    FakeAudit,
    FakeCarts,
    FakeCatalogue,
    FakeDeposits,
    FakeDevices,
    FakeDiscrepancies,
    FakeEvents,
    FakeInbox,
    FakeLedger,
    FakeOrders,
    FakePayables,
    FakeRefunds,
    FakeShifts,
    FakeStatistics,
    FakeUnits,
)


class FakeBox:
    """The secret box (`services.ports.Box`) without cryptography: sealed text is readable
    bytes bound to its context; lookup hashes and subkeys are HMAC-SHA256 under a fixed key."""

    def __init__(self, secret: bytes = b"fake platform secret") -> None:
        self.secret = secret

    def seal_text(self, text: str, context: bytes = b"") -> bytes:
        return b"sealed[" + context + b"]" + text.encode()

    def open_text(self, sealed: bytes, context: bytes = b"") -> str:
        prefix = b"sealed[" + context + b"]"
        if not sealed.startswith(prefix):
            raise ValueError("sealed under another context")
        return sealed[len(prefix) :].decode()

    def lookup_hash(self, text: str) -> str:
        return hmac.new(self.secret, b"lookup:" + text.encode(), hashlib.sha256).hexdigest()

    def subkey(self, purpose: str) -> bytes:
        return hmac.new(self.secret, purpose.encode(), hashlib.sha256).digest()


class FakeClock:
    """A clock that stands still until told (`services.ports.Clock`)."""

    def __init__(self, now: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) -> None:
        if now.tzinfo is None:
            raise ValueError("the clock is timezone-aware")
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FakeUnitOfWork:
    """One transaction on a `FakeDatabase` (several units of work may share one database, one
    transaction at a time). Every repository of the `UnitOfWork` Protocol, and what the
    in-person payments need on top (`RequestInbox`, `JournalReader`) and batch receipt issuing
    (`BatchReceipts`)."""

    def __init__(self, db: FakeDatabase | None = None, *, box: FakeBox | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self._box = box or FakeBox()
        self._events: list[DomainEvent] = []
        self._payables = FakePayables(self.db)
        self._catalogue = FakeCatalogue(self.db)
        self._orders = FakeOrders(self.db)
        self._inbox = FakeInbox(self.db)
        self._discrepancies = FakeDiscrepancies(self.db)
        self._ledger = FakeLedger(self.db)
        self._events_repo = FakeEvents(self.db)
        self._refunds = FakeRefunds(self.db)
        self._units = FakeUnits(self.db)
        self._audit = FakeAudit(self.db)
        self._receipts = FakeReceipts(self.db)
        self._devices = FakeDevices(self.db)
        self._shifts = FakeShifts(self.db)
        self._carts = FakeCarts(self.db)  # issue 13
        self._deposits = FakeDeposits(self.db)
        self._messages = FakeMessages(self.db, self._box)  # portal (issue 13)
        self._statistics = FakeStatistics(self.db)  # issue 10

    @property
    def box(self) -> FakeBox:
        return self._box

    @property
    def payables(self) -> FakePayables:
        return self._payables

    @property
    def catalogue(self) -> FakeCatalogue:
        return self._catalogue

    @property
    def orders(self) -> FakeOrders:
        return self._orders

    @property
    def inbox(self) -> FakeInbox:
        return self._inbox

    @property
    def discrepancies(self) -> FakeDiscrepancies:
        return self._discrepancies

    @property
    def ledger(self) -> FakeLedger:
        return self._ledger

    @property
    def events(self) -> FakeEvents:
        return self._events_repo

    @property
    def refunds(self) -> FakeRefunds:
        return self._refunds

    @property
    def units(self) -> FakeUnits:
        return self._units

    @property
    def audit(self) -> FakeAudit:
        return self._audit

    @property
    def receipts(self) -> FakeReceipts:
        return self._receipts

    @property
    def devices(self) -> FakeDevices:
        return self._devices

    @property
    def shifts(self) -> FakeShifts:
        return self._shifts

    @property
    def carts(self) -> FakeCarts:
        return self._carts

    @property
    def deposits(self) -> FakeDeposits:
        return self._deposits

    @property
    def messages(self) -> FakeMessages:
        return self._messages

    @property
    def statistics(self) -> FakeStatistics:
        return self._statistics

    def __enter__(self) -> FakeUnitOfWork:
        self._events = []
        self.db.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._events = []
        self.db.end()

    def collect(self, events: Iterable[DomainEvent]) -> None:
        """Domain events of this transaction, recorded at flush or commit."""
        self._events.extend(events)

    def _record(self) -> None:
        events, self._events = self._events, []
        if events:
            record(self, events)

    def flush(self) -> None:
        self._record()
        self.db.flush()

    def commit(self) -> None:
        self._record()
        self.db.commit()

    def rollback(self) -> None:
        self._events = []
        self.db.rollback()
