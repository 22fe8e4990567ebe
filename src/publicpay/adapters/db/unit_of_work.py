"""Unit of work: one connection, one transaction, every repository on it.

A signed API call's nonce can be claimed in the same transaction as the call's own work
(`nonce=`): a replay is refused at the start of the transaction; when the work does not commit
(an idempotent replay, a refusal), the nonce is still claimed afterwards in its own transaction,
so a used nonce stays used either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import psycopg
from sqlalchemy import Connection, RootTransaction
from sqlalchemy.exc import IntegrityError

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.audit import AuditRepository
from publicpay.adapters.db.catalogue import CatalogueCache, CatalogueRepository
from publicpay.adapters.db.deferred import pg_defer, pg_flush_at_commit
from publicpay.adapters.db.engine import Engines
from publicpay.adapters.db.events import EventsRepository
from publicpay.adapters.db.ledger import LedgerRepository
from publicpay.adapters.db.payables import PayablesRepository
from publicpay.adapters.db.payments.inbox import DiscrepanciesRepository, InboxRepository
from publicpay.adapters.db.payments.orders import OrdersRepository
from publicpay.adapters.db.receipts.repository import ReceiptsRepository
from publicpay.adapters.db.refunds import RefundsRepository
from publicpay.adapters.db.units import UnitsRepository
from publicpay.adapters.db.users import UsersRepository
from publicpay.domain.errors import Conflict, Unauthorized

REPLAY = "X-Nonce 已使用过（重放请求）"


_PG_NONCE = "INSERT INTO request_nonces (app_id, nonce, seen_at) VALUES (%s, %s, %s)"


def _violated(exc: Exception) -> str | None:
    """The name of the constraint a (SQLAlchemy-wrapped or raw) psycopg error violated."""
    error = getattr(exc, "orig", exc)
    diag = getattr(error, "diag", None)
    return getattr(diag, "constraint_name", None)


@dataclass(frozen=True, slots=True)
class NonceClaim:
    app_id: str
    nonce: str
    at: datetime


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    def __init__(
        self,
        engines: Engines,
        cache: CatalogueCache,
        box: SecretBox,
        *,
        readonly: bool = False,
        nonce: NonceClaim | None = None,
    ) -> None:
        self._engine = engines.read if readonly else engines.write
        self._cache = cache
        self.box = box
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._nonce = nonce  # claimed on the first entry, then done with

    def __enter__(self) -> SqlUnitOfWork:
        conn = self._engine.connect()
        self._conn = conn
        self._tx = conn.begin()
        self._attach(conn)
        if self._nonce is not None:
            try:
                self._claim_nonce(self._nonce)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def _claim_nonce(self, claim: NonceClaim) -> None:
        values = [claim.app_id, claim.nonce, claim.at]
        if self._conn is not None and pg_defer(self._conn, _PG_NONCE, values, at_commit=True):
            return  # PostgreSQL: claimed at commit; a replay fails there on the nonce's key
        if not self.units.remember_nonce(claim.app_id, claim.nonce, claim.at):
            self._nonce = None  # a replay: nothing left to claim
            raise Unauthorized(REPLAY)

    def _attach(self, conn: Connection) -> None:
        self.units = UnitsRepository(conn, self.box)
        self.catalogue = CatalogueRepository(conn, self._cache)
        self.payables = PayablesRepository(conn)
        self.orders = OrdersRepository(conn)
        self.inbox = InboxRepository(conn)
        self.discrepancies = DiscrepanciesRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.events = EventsRepository(conn)
        self.refunds = RefundsRepository(conn)
        self.audit = AuditRepository(conn)
        self.receipts = ReceiptsRepository(conn, self.box)
        self.users = UsersRepository(conn)

    @property
    def connection(self) -> Connection:
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    def commit(self) -> None:
        assert self._tx is not None
        try:
            if self._conn is not None:
                pg_flush_at_commit(self._conn)  # queued writes: a failure here rolls back cleanly
            self._tx.commit()
        except (IntegrityError, psycopg.IntegrityError) as exc:
            if _violated(exc) == "pk_request_nonces":
                self._nonce = None  # it was used: nothing left to claim
                raise Unauthorized(REPLAY) from exc
            raise Conflict("数据已被并发修改，请重试") from exc
        self._nonce = None

    def rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        if self._conn is not None:
            try:
                if self._nonce is not None:  # the work did not commit: claim the nonce alone
                    self._claim_alone(self._conn, self._nonce)
            finally:
                self._conn.close()
        self._conn = None
        self._tx = None

    def _claim_alone(self, conn: Connection, claim: NonceClaim) -> None:
        self._nonce = None
        with conn.begin():
            self.units.remember_nonce(claim.app_id, claim.nonce, claim.at)
