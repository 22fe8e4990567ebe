"""The in-memory database the fakes share: plain dicts and lists, one transaction at a time.

`FakeDatabase.tables` holds every row. A unit of work snapshots the tables (`Tables.copy`) when
it begins and puts the snapshot back when it ends without `commit()` (or on `rollback()`), so
whatever a block wrote and did not commit is gone — as on SQLite and PostgreSQL. Ids come from
sequences that a rollback does not wind back (PostgreSQL's behaviour): never handed out twice.

What the real executor refuses, the fake refuses too:
- a write the real repository queues marks its table; a read (or immediate write) of a marked
  table before `flush()`/`commit()` raises `QueuedWriteRead`, as `adapters.db.sql.Sql` does;
- unique keys are checked when the queued writes are sent (flush, commit) and immediate inserts
  at once, mapped to the same domain errors as `adapters.db.unit_of_work.CONFLICTS`;
- a journal that does not balance is refused at commit (migration 0009).

Locks (`lock=True`) are accepted and mean nothing here: one transaction runs at a time, and a
second one opened while the first is still open is a test bug (`RuntimeError`).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from publicpay.domain.catalogue import FeeItem
from publicpay.domain.devices import Device
from publicpay.domain.errors import Conflict
from publicpay.domain.events import DiscrepancyKind, StoredEvent
from publicpay.domain.ledger import Journal, UnbalancedJournal
from publicpay.domain.payables import Payable
from publicpay.domain.payments.carts import Cart
from publicpay.domain.payments.orders import Order
from publicpay.domain.receipts.records import NewReceipt, ReceiptJob, StockRange
from publicpay.domain.refunds import Refund
from publicpay.domain.shifts import Deposit, Shift
from publicpay.domain.statistics import PaymentTally
from publicpay.domain.units import ApiClient, Site, Unit, Window

CONCURRENT_EDIT = "数据已被并发修改，请重试"  # any other unique key (unit_of_work._refusal)
BIZ_NO_TAKEN = "业务编号已登记"  # uq_payables_unit_biz_no
WINDOW_OPEN = "该窗口已开班，请先结班"  # uq_shifts_open_window
CASHIER_OPEN = "您已在其他窗口开班，请先结班"  # uq_shifts_open_cashier


class QueuedWriteRead(RuntimeError):
    """A table read while writes to it waited in the queue (as `adapters.db.sql.QueuedWriteRead`):
    a programming error — the use case must call `uow.flush()` first."""


@dataclass
class PayableRow:
    payable: Payable
    payer_id_enc: bytes
    payer_id_hash: str
    payer_phone_enc: bytes | None
    payer_phone_hash: str | None = None


@dataclass
class InboxRow:
    channel: str
    notify_id: str
    order_no: str
    body: str
    received_at: datetime
    outcome: str | None = None
    processed_at: datetime | None = None


@dataclass(frozen=True)
class DiscrepancyRow:
    kind: DiscrepancyKind
    channel: str
    order_no: str
    payable_id: int | None
    amount_fen: int | None
    detail: dict[str, Any]
    created_at: datetime
    status: str = "open"


@dataclass(frozen=True)
class PostedJournal:
    id: int
    journal: Journal
    payable_id: int | None
    business_date: date
    created_at: datetime


@dataclass
class OutboxRow:
    """An event-log row: `delivery` is `pending` (a webhook to send) or `none` (listed only)."""

    event: StoredEvent
    next_attempt_at: datetime | None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryRow:
    cursor: int
    attempt: int
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


@dataclass(frozen=True)
class AuditRow:
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    at: datetime


@dataclass
class JobRow:
    job: ReceiptJob  # attempts: as stored (a claim returns attempts + 1, like the repository)
    status: str  # pending | done | failed
    next_attempt_at: datetime | None
    created_at: datetime
    done_at: datetime | None = None


@dataclass
class KeyRow:
    id: int
    signer: str
    owner: str
    private_pem: bytes
    active: bool
    created_at: datetime


@dataclass
class StockRow:
    stock: StockRange
    allocated_by: str
    created_at: datetime


@dataclass
class ReceiptRow:
    id: int
    receipt: NewReceipt
    status: str = "issued"
    print_count: int = 0
    pdf: bytes | None = None
    booked_at: datetime | None = None
    booked_by: str | None = None


@dataclass(frozen=True)
class PrintRow:
    receipt_id: int
    at: datetime
    place: str
    reprint: bool


@dataclass
class Tables:
    """Every row, by table. Rows hold copies: what a service changes without `save` stays out."""

    fee_items: dict[str, FeeItem] = field(default_factory=dict)
    grants: dict[int, set[str]] = field(default_factory=dict)  # unit id -> item codes
    units: dict[int, Unit] = field(default_factory=dict)
    clients: dict[str, ApiClient] = field(default_factory=dict)
    sites: dict[int, Site] = field(default_factory=dict)
    windows: dict[int, Window] = field(default_factory=dict)
    devices: dict[int, Device] = field(default_factory=dict)
    partner_sites: dict[int, str] = field(default_factory=dict)  # site id -> bank app id
    shifts: dict[int, Shift] = field(default_factory=dict)
    deposits: dict[int, Deposit] = field(default_factory=dict)  # the cash office
    payables: dict[int, PayableRow] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    carts: dict[int, Cart] = field(default_factory=dict)
    inbox: dict[tuple[str, str], InboxRow] = field(default_factory=dict)
    discrepancies: list[DiscrepancyRow] = field(default_factory=list)
    refunds: dict[int, Refund] = field(default_factory=dict)
    journals: list[PostedJournal] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    receipt_jobs: dict[int, JobRow] = field(default_factory=dict)
    receipt_keys: dict[int, KeyRow] = field(default_factory=dict)
    stocks: dict[int, StockRow] = field(default_factory=dict)
    receipts: dict[int, ReceiptRow] = field(default_factory=dict)
    prints: list[PrintRow] = field(default_factory=list)
    # portal (issue 13): message id -> (payable id, row, next attempt at)
    payer_messages: dict[int, tuple[int, Any, datetime]] = field(default_factory=dict)
    payable_attributes: dict[tuple[int, str], Any] = field(default_factory=dict)
    payer_codes: dict[int, Any] = field(default_factory=dict)  # the portal's history codes
    # statistics (issue 10): every tally the recorder made, in order
    tallies: list[PaymentTally] = field(default_factory=list)  # pending
    folded: list[PaymentTally] = field(default_factory=list)

    def copy(self) -> Tables:
        """A copy to roll back to: every table and every row copied, one level deep. Rows are
        changed by setting their attributes (or replacing them), never inside an attribute:
        the repositories keep to that, and hand out deep copies."""
        copied: dict[str, Any] = {}
        for f in fields(self):
            table = getattr(self, f.name)
            if isinstance(table, dict):
                copied[f.name] = {key: _copy_row(row) for key, row in table.items()}
            else:
                copied[f.name] = [_copy_row(row) for row in table]
        return Tables(**copied)


def _copy_row(row: Any) -> Any:
    """A row to keep: frozen rows are shared, others copied (one level)."""
    params = getattr(row, "__dataclass_params__", None)
    return row if params is not None and params.frozen else copy.copy(row)


class FakeDatabase:
    """The tables, the sequences, and the state of the one open transaction."""

    def __init__(self) -> None:
        self.tables = Tables()
        self._sequences: Counter[str] = Counter()
        self._snapshot: Tables | None = None
        self._queued: set[str] = set()

    # --- seeding and inspection (tests, outside any transaction) ------------------------------

    def add_fee_items(self, *items: FeeItem) -> None:
        self.tables.fee_items.update({item.code: item for item in items})

    def grant(self, unit_id: int, *item_codes: str) -> None:
        """Authorise a unit to collect these items (单位项目授权)."""
        self.tables.grants.setdefault(unit_id, set()).update(item_codes)

    def add_unit(self, unit: Unit) -> None:
        self.tables.units[unit.id] = unit

    def add_site(self, site: Site, *windows: Window) -> None:
        self.tables.sites[site.id] = site
        self.tables.windows.update({window.id: window for window in windows})

    def add_device(self, device: Device) -> None:
        self.tables.devices[device.id] = device

    def balances(self, payable_id: int | None = None) -> dict[str, int]:
        """Account balances (debits positive) over every journal, or one payable's."""
        result: Counter[str] = Counter()
        for posted in self.tables.journals:
            if payable_id is None or posted.payable_id == payable_id:
                for posting in posted.journal.postings:
                    result[posting.account] += posting.amount_fen
        return dict(result)

    # --- sequences ----------------------------------------------------------------------------

    def next_id(self, sequence: str) -> int:
        """The next value of a sequence (1, 2, ...); a rollback does not give it back."""
        self._sequences[sequence] += 1
        return self._sequences[sequence]

    # --- the transaction ----------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._snapshot is not None

    def begin(self) -> None:
        if self._snapshot is not None:
            raise RuntimeError("a second transaction opened while one is open (fakes run one)")
        self._snapshot = self.tables.copy()

    def rollback(self) -> None:
        """Forget every write since the transaction (or the last commit) began; still open."""
        if self._snapshot is not None:
            self.tables = self._snapshot.copy()
        self._queued.clear()

    def commit(self) -> None:
        """Send the queued writes, check the deferred guards, make the writes permanent; the
        block goes on in a new transaction (as a connection does after COMMIT)."""
        self.flush()
        check_journals_balance(self.tables.journals)
        self._snapshot = self.tables.copy()

    def end(self) -> None:
        """Leave the `with` block: uncommitted writes are rolled back."""
        self.rollback()
        self._snapshot = None

    def flush(self) -> None:
        """The queued writes go out: unique keys are checked now."""
        queued, self._queued = self._queued, set()
        if queued:
            check_unique_keys(self.tables)

    # --- what the executor checks -------------------------------------------------------------

    def queue(self, *tables: str) -> None:
        """A write the real repository queues (sent with flush or commit)."""
        self._require_transaction()
        self._queued.update(tables)

    def read(self, *tables: str) -> None:
        """A statement that runs at once (a read, an immediate write) on `tables`."""
        self._require_transaction()
        clash = self._queued.intersection(tables)
        if clash:
            raise QueuedWriteRead(f"{sorted(clash)} read with writes queued: flush first")

    def _require_transaction(self) -> None:
        if self._snapshot is None:
            raise RuntimeError("repository used outside `with uow:`")


def _duplicates(values: Iterable[object]) -> list[object]:
    return [value for value, n in Counter(values).items() if n > 1]


def check_unique_keys(t: Tables) -> None:
    """The unique constraints of the schema that queued writes can break, mapped like
    `adapters.db.unit_of_work.CONFLICTS` (biz_no → 业务编号已登记; anything else → a concurrent
    edit)."""
    rows = [row.payable for row in t.payables.values()]
    if _duplicates((p.unit_id, p.biz_no) for p in rows):
        raise Conflict(BIZ_NO_TAKEN)
    if _duplicates(p.payment_code for p in rows) or _duplicates(
        r.refund_no for r in t.refunds.values()
    ):
        raise Conflict(CONCURRENT_EDIT)
    receipts = [row.receipt for row in t.receipts.values()]
    if _duplicates((r.code, r.number) for r in receipts) or _duplicates(
        (r.kind, r.ref) for r in receipts
    ):
        raise Conflict(CONCURRENT_EDIT)


def check_journals_balance(journals: Iterable[PostedJournal]) -> None:
    """Migration 0009: a journal must have two postings or more and sum to zero at COMMIT."""
    for posted in journals:
        postings = posted.journal.postings
        total = sum(p.amount_fen for p in postings)
        if total != 0 or len(postings) < 2:
            raise UnbalancedJournal(
                f"记账分录借贷不平，提交被数据库拒绝：journal {posted.id} "
                f"({len(postings)} postings summing to {total} fen)"
            )


def refuse_duplicate(exists: bool) -> None:
    """An immediate insert that breaks a unique key (not one the caller ignores)."""
    if exists:
        raise Conflict(CONCURRENT_EDIT)


__all__ = [
    "AuditRow",
    "DeliveryRow",
    "DiscrepancyRow",
    "FakeDatabase",
    "InboxRow",
    "JobRow",
    "KeyRow",
    "OutboxRow",
    "PayableRow",
    "PostedJournal",
    "PrintRow",
    "QueuedWriteRead",
    "ReceiptRow",
    "StockRow",
    "Tables",
]
