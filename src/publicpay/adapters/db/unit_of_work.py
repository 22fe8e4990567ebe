"""Unit of work: one connection, one transaction, every repository on it.

    with uow:
        payable = uow.payables.by_code(code, lock=True)
        uow.collect(payable.cancel(actor=..., at=now))   # the aggregate decides, returns events
        uow.payables.save(payable)                        # queued
        uow.commit()

`commit()` does three things, in this order, in the one transaction:
1. the recorder (`services.recording.recorder`) turns the collected domain events into their
   writes: ledger journal, outbox message, audit row, jobs (queued like any other write);
2. every queued write goes out together (`Sql.flush`: one statement on PostgreSQL), the signed
   request's nonce first;
3. COMMIT. A unique constraint that refuses a write is mapped to a domain error by
   `CONFLICTS` (by constraint name, the same on both databases).

The nonce of a signed request (`nonce=`) is claimed by the request's first transaction: with its
writes when it commits, alone when it does not (a refusal, an idempotent replay that wrote
nothing). Either way a nonce used before refuses the request with 401 — on both databases, at
the same step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, TypeVar, overload

import psycopg
from sqlalchemy import Connection, RootTransaction
from sqlalchemy.exc import IntegrityError

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.audit import AuditRepository
from publicpay.adapters.db.catalogue import CatalogueCache, CatalogueRepository
from publicpay.adapters.db.devices import DevicesRepository
from publicpay.adapters.db.dialects import Dialect
from publicpay.adapters.db.engine import Engines
from publicpay.adapters.db.events import EventsRepository
from publicpay.adapters.db.idempotency import IdempotencyRepository
from publicpay.adapters.db.ledger import LedgerRepository
from publicpay.adapters.db.messages import MessagesRepository
from publicpay.adapters.db.metadata import metadata
from publicpay.adapters.db.payable_batches import PayableBatchesRepository
from publicpay.adapters.db.payables import PayablesRepository
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository
from publicpay.adapters.db.payments.carts import CartsRepository
from publicpay.adapters.db.payments.inbox import DiscrepanciesRepository, InboxRepository
from publicpay.adapters.db.payments.orders import OrdersRepository
from publicpay.adapters.db.receipts.repository import ReceiptsRepository
from publicpay.adapters.db.reconciliation.clearing import ClearingRepository
from publicpay.adapters.db.reconciliation.repository import ReconciliationRepository
from publicpay.adapters.db.refunds import RefundsRepository
from publicpay.adapters.db.shifts import DepositsRepository, ShiftsRepository
from publicpay.adapters.db.sql import Insert, Sql, violated_constraint
from publicpay.adapters.db.statistics import StatisticsRepository
from publicpay.adapters.db.units import UnitsRepository, request_nonces
from publicpay.adapters.db.users import UsersRepository
from publicpay.domain.errors import Conflict, DomainError, Unauthorized
from publicpay.domain.events import DomainEvent
from publicpay.domain.ledger import UnbalancedJournal

REPLAY = "X-Nonce 已使用过（重放请求）"

# unique constraints whose refusal means something to the caller; any other: a concurrent edit
CONFLICTS: dict[str, Callable[[], DomainError]] = {
    "pk_request_nonces": lambda: Unauthorized(REPLAY),
    "uq_payables_unit_biz_no": lambda: Conflict("业务编号已登记"),
    "uq_shifts_open_window": lambda: Conflict("该窗口已开班，请先结班"),
    "uq_shifts_open_cashier": lambda: Conflict("您已在其他窗口开班，请先结班"),
    # administration (issue 10): the same name or code entered twice at once
    "uq_users_username": lambda: Conflict("用户名已存在"),
    "uq_units_code": lambda: Conflict("单位编码已存在"),
    "uq_sites_code": lambda: Conflict("网点编码已存在"),
    "uq_windows_site_id_number": lambda: Conflict("窗口号已存在"),
    "pk_regions": lambda: Conflict("行政区划已存在"),
    "pk_fee_items": lambda: Conflict("项目编码已存在"),
    "pk_unit_items": lambda: Conflict("单位已获授权收取该项目"),
    "uq_cash_deposits_shift_id": lambda: Conflict("该班次已生成解款单"),  # the cash office
    # two windows opened at once netting the same transfer refund: the second is refused whole
    "uq_clearing_refunds_refund_id": lambda: Conflict(
        "转账退款已由另一清算窗口同时轧差，请重新清算"
    ),
}
INTEGRITY_ERRORS = (IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError)
LEDGER_GUARDS = (
    "ck_ledger_journal_balanced",
    "ck_ledger_posting_journal",
    "FOREIGN KEY constraint failed",
)


@dataclass(frozen=True, slots=True)
class NonceClaim:
    app_id: str
    nonce: str
    at: datetime


R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, made on first use in each transaction and kept as an
    instance attribute until the transaction ends (a non-data descriptor: the attribute, once
    set, is found before it)."""

    def __init__(self, kind: type[R], *needs: str) -> None:
        self._kind = kind
        self._needs = needs  # the unit of work's attributes it is made with, after `sql`

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        needs = self._needs
        if needs:
            made = self._kind(uow.sql, *[getattr(uow, need) for need in needs])  # type: ignore[call-arg]
        else:
            made = self._kind(uow.sql)  # type: ignore[call-arg]
        uow.__dict__[self._name] = made  # later reads in this transaction: a plain attribute
        uow._made.append(self._name)
        return made


class Recorder(Protocol):
    def __call__(self, uow: SqlUnitOfWork, events: list[DomainEvent]) -> None: ...


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    # repositories, each made on first use in a transaction (most requests use a few)
    units = _Repository(UnitsRepository, "box")
    catalogue = _Repository(CatalogueRepository, "_cache")
    payables = _Repository(PayablesRepository)
    batches = _Repository(PayableBatchesRepository)
    orders = _Repository(OrdersRepository)
    inbox = _Repository(InboxRepository)
    discrepancies = _Repository(DiscrepanciesRepository)
    channel_accounts = _Repository(ChannelAccountsRepository, "box")
    ledger = _Repository(LedgerRepository)
    events = _Repository(EventsRepository)
    refunds = _Repository(RefundsRepository)
    audit = _Repository(AuditRepository)
    receipts = _Repository(ReceiptsRepository, "box")
    users = _Repository(UsersRepository)
    devices = _Repository(DevicesRepository)
    shifts = _Repository(ShiftsRepository)
    carts = _Repository(CartsRepository)  # issue 13
    deposits = _Repository(DepositsRepository)  # the cash office
    idempotency = _Repository(IdempotencyRepository)
    reconciliation = _Repository(ReconciliationRepository)  # issue 12
    clearing = _Repository(ClearingRepository)  # issue 12
    messages = _Repository(MessagesRepository, "box")  # portal (issue 13)
    statistics = _Repository(StatisticsRepository)  # summaries (issue 10)

    def __init__(
        self,
        engines: Engines,
        cache: CatalogueCache,
        box: SecretBox,
        recorder: Recorder,
        *,
        readonly: bool = False,
        nonce: NonceClaim | None = None,
    ) -> None:
        self._engine = engines.read if readonly else engines.write
        self._dialect = engines.dialect
        self._cache = cache
        self._recorder = recorder
        self.box = box
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._nonce = nonce  # claimed by the first transaction, then done with
        self._events: list[DomainEvent] = []
        self._made: list[str] = []  # repositories made in this transaction

    def __enter__(self) -> SqlUnitOfWork:
        conn = self._engine.connect()
        self._conn = conn
        self._tx = conn.begin()
        self.sql = Sql(conn, self._dialect)
        for name in self._made:  # the last transaction's, on its connection
            del self.__dict__[name]
        self._made.clear()
        return self

    @property
    def connection(self) -> Connection:
        """The connection itself, for the read side (`adapters.db.queries`)."""
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    def collect(self, events: Iterable[DomainEvent]) -> None:
        """Domain events of this transaction, recorded at commit."""
        self._events.extend(events)

    def flush(self) -> None:
        """Send the queued writes now, for a statement that must read them back."""
        self._record()
        self.sql.flush()

    def commit(self) -> None:
        assert self._tx is not None
        self._record()
        claimed = self._nonce
        if claimed is not None:
            self._nonce = None  # claimed with this commit, or refused with it
            self.sql.queue(_nonce_write(claimed), first=True)
        try:
            self.sql.flush()
            self._tx.commit()
        except INTEGRITY_ERRORS as exc:
            refusal = _refusal(exc)
            if claimed is not None and not isinstance(refusal, Unauthorized):
                self._nonce = claimed  # rolled back with the refused work: still to be claimed
            raise refusal from exc

    def _record(self) -> None:
        events, self._events = self._events, []
        if events:
            self._recorder(self, events)

    def rollback(self) -> None:
        self._events = []
        if self._conn is not None:
            self.sql.discard()
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        conn, claimed = self._conn, self._nonce
        self._conn = self._tx = None
        self._nonce = None
        if conn is None:
            return
        try:
            if claimed is not None:  # nothing committed: the nonce is claimed on its own
                _claim_alone(conn, self._dialect, claimed)
        finally:
            conn.close()
        if isinstance(exc, INTEGRITY_ERRORS):  # a write run at once was refused by a constraint
            raise _refusal(exc) from exc


def _nonce_write(claim: NonceClaim) -> Insert:
    row = {"app_id": claim.app_id, "nonce": claim.nonce, "seen_at": claim.at}
    return Insert(request_nonces, (row,))


def _claim_alone(conn: Connection, dialect: Dialect, claim: NonceClaim) -> None:
    """Claim a nonce in its own transaction; a replay raises Unauthorized (401), replacing
    whatever the request's work answered."""
    with conn.begin():
        row = _nonce_write(claim).rows[0]
        if Sql(conn, dialect).insert(request_nonces, row, ignore_conflict=True) is None:
            raise Unauthorized(REPLAY)


def _refusal(exc: Exception) -> Exception:
    name = violated_constraint(exc, metadata.tables)
    if name in CONFLICTS:
        return CONFLICTS[name]()
    text = str(getattr(exc, "orig", exc))
    if any(guard in text for guard in LEDGER_GUARDS):
        return UnbalancedJournal(f"记账分录借贷不平，提交被数据库拒绝：{text}")
    return Conflict("数据已被并发修改，请重试")
