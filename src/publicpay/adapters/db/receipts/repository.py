"""E-receipt repository: issue jobs, signing keys, number stock, receipts, prints, booking.

Number drawing locks the stock row (`FOR UPDATE`; SQLite holds the write lock already) in the
same transaction that stores the receipt, so a number is either used by a stored receipt or
never drawn: no gaps, no reuse. Jobs are leased with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update

from publicpay.adapters.crypto import sm2
from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.leases import Leases
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.receipts.batch import BatchIssuing
from publicpay.adapters.db.receipts.tables import (
    receipt_jobs,
    receipt_keys,
    receipt_prints,
    receipt_stocks,
    receipts,
)
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.domain.receipts.receipts import NumberRange, ReceiptStockExhausted
from publicpay.domain.receipts.records import (
    DrawnNumber,
    JobKind,
    NewReceipt,
    ReceiptJob,
    SigningKey,
    StockRange,
    StoredReceipt,
)
from publicpay.domain.time import utc

_KEY_CONTEXT = b"receipt-key"
_COLUMNS = [column for column in receipts.c if column.name != "pdf"]  # the cache stays put
_SIGNERS: dict[bytes, sm2.Sm2Signer] = {}
_SIGNERS_LOCK = threading.Lock()


def _signer(sealed: bytes, box: SecretBox) -> sm2.Sm2Signer:
    """Loaded signers are cached by their sealed key (unique per key, per database)."""
    with _SIGNERS_LOCK:
        found = _SIGNERS.get(sealed)
    if found is None:
        found = sm2.Sm2Signer(box.open(sealed, _KEY_CONTEXT))
        with _SIGNERS_LOCK:
            if len(_SIGNERS) > 512:
                _SIGNERS.clear()
            _SIGNERS[sealed] = found
    return found


_DUE_JOBS = Leases(
    receipt_jobs,
    (receipt_jobs.c.status == "pending") & (receipt_jobs.c.next_attempt_at <= bindparam("now")),
    (receipt_jobs.c.id,),
)
_FINISH_JOB = (
    update(receipt_jobs)
    .where(receipt_jobs.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        done_at=bindparam("at"),
        next_attempt_at=None,
        last_error=bindparam("error"),
    )
)
_RETRY_JOB = (
    update(receipt_jobs)
    .where(receipt_jobs.c.id == bindparam("b_id"))
    .values(next_attempt_at=bindparam("at"), last_error=bindparam("error"))
)
_PENDING_JOBS = select(func.count().label("n")).where(receipt_jobs.c.status == "pending")
_RETIRE_KEYS = (
    update(receipt_keys)
    .where(
        receipt_keys.c.signer == bindparam("b_signer"),
        receipt_keys.c.owner == bindparam("b_owner"),
        receipt_keys.c.active.is_(True),
    )
    .values(active=False, retired_at=bindparam("at"))
)
_SIGNER = (
    select(receipt_keys.c.id, receipt_keys.c.private_key_enc)
    .where(
        receipt_keys.c.signer == bindparam("signer"),
        receipt_keys.c.owner == bindparam("owner"),
        receipt_keys.c.active.is_(True),
    )
    .order_by(receipt_keys.c.id.desc())
    .limit(1)
)
_KEYS = select(receipt_keys).order_by(receipt_keys.c.id)
_PUBLIC_KEY = select(receipt_keys.c.public_key_pem).where(receipt_keys.c.id == bindparam("id"))
_OVERLAPS = (
    select(receipt_stocks.c.id)
    .where(
        receipt_stocks.c.code == bindparam("code"),
        receipt_stocks.c.start_no <= bindparam("end"),
        receipt_stocks.c.end_no >= bindparam("start"),
    )
    .limit(1)
)
_STOCKS = select(receipt_stocks).order_by(receipt_stocks.c.id)
_UNIT_STOCKS_ALL = _STOCKS.where(receipt_stocks.c.unit_id == bindparam("unit_id"))
_ACTIVE = select(receipt_stocks).where(receipt_stocks.c.status == "active")
_DRAW_UNIT = (
    _ACTIVE.where(
        receipt_stocks.c.unit_id == bindparam("unit_id"), receipt_stocks.c.issuing_point.is_(None)
    )
    .order_by(receipt_stocks.c.id)
    .limit(1)
    .with_for_update()
)
_DRAW_POINT = (
    _ACTIVE.where(
        receipt_stocks.c.issuing_point == bindparam("place"),
        or_(receipt_stocks.c.unit_id == bindparam("unit_id"), receipt_stocks.c.unit_id.is_(None)),
    )
    .order_by(receipt_stocks.c.id)
    .limit(1)
    .with_for_update()
)
_ADVANCE = (
    update(receipt_stocks)
    .where(receipt_stocks.c.id == bindparam("b_id"))
    .values(next_no=bindparam("next_no"), status=bindparam("status"))
)
_RECEIPT = select(*_COLUMNS)
_BY_REF = _RECEIPT.where(receipts.c.kind == bindparam("kind"), receipts.c.ref == bindparam("ref"))
_BY_NUMBER = _RECEIPT.where(
    receipts.c.code == bindparam("code"), receipts.c.number == bindparam("number")
)
_BY_NUMBER_LOCKED = _BY_NUMBER.with_for_update()
_BY_ID = _RECEIPT.where(receipts.c.id == bindparam("id"))
_LIVE = _RECEIPT.where(
    receipts.c.payable_id == bindparam("payable_id"),
    receipts.c.kind == "normal",
    receipts.c.status == "issued",
)
_LIVE_LOCKED = _LIVE.with_for_update()
_FOR_PAYABLE = _RECEIPT.where(receipts.c.payable_id == bindparam("payable_id")).order_by(
    receipts.c.id
)
_ISSUED_BETWEEN = _RECEIPT.where(
    receipts.c.unit_id == bindparam("unit_id"),
    receipts.c.issued_at >= bindparam("start"),
    receipts.c.issued_at < bindparam("end"),
).order_by(receipts.c.id)
_SETTLED = (
    select(payables.c.id)
    .where(
        payables.c.unit_id == bindparam("unit_id"),
        payables.c.paid_at >= bindparam("start"),
        payables.c.paid_at < bindparam("end"),
        payables.c.status.in_(["paid", "partially_refunded", "refunded"]),
    )
    .order_by(payables.c.id)
)
_COUNT_FROM_STOCK = select(func.count().label("n")).where(
    receipts.c.stock_id == bindparam("stock_id")
)
_SET_STATUS = (
    update(receipts).where(receipts.c.id == bindparam("b_id")).values(status=bindparam("status"))
)
_CACHED_PDF = select(receipts.c.pdf).where(receipts.c.id == bindparam("id"))
_CACHE_PDF = (
    update(receipts)
    .where(receipts.c.id == bindparam("b_id"), receipts.c.pdf.is_(None))
    .values(pdf=bindparam("pdf"))
)
_COUNT_PRINT = (
    update(receipts)
    .where(receipts.c.id == bindparam("b_id"))
    .values(print_count=receipts.c.print_count + 1)
)
_PRINTS_BETWEEN = (
    select(receipt_prints.c.reprint)
    .select_from(receipt_prints.join(receipts))
    .where(
        receipts.c.unit_id == bindparam("unit_id"),
        receipt_prints.c.at >= bindparam("start"),
        receipt_prints.c.at < bindparam("end"),
    )
)
_BOOK = (
    update(receipts)
    .where(receipts.c.id == bindparam("b_id"), receipts.c.booked_at.is_(None))
    .values(booked_at=bindparam("at"), booked_by=bindparam("by"))
)


class ReceiptsRepository(BatchIssuing):
    """`enqueue` is queued (a job asked for with a payment goes out with it); everything else
    runs at once: issuing reads back what it draws and stores."""

    def __init__(self, sql: Sql, box: SecretBox) -> None:
        self._sql = sql
        self._box = box

    # --- jobs ---------------------------------------------------------------------------------

    def enqueue(
        self, kind: JobKind, ref: str, payable_id: int, place: str | None, at: datetime
    ) -> None:
        """Ask for a receipt job (idempotent: an existing job is left as it is)."""
        row = {
            "kind": kind.value,
            "ref": ref,
            "payable_id": payable_id,
            "place": place,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        self._sql.queue(Insert(receipt_jobs, (row,), ignore_conflict=True))

    def claim_jobs(self, now: datetime, limit: int, lease: timedelta) -> list[ReceiptJob]:
        rows = _DUE_JOBS.claim(self._sql, now, limit, lease)
        return [
            ReceiptJob(
                r.id, JobKind(r.kind), r.ref, r.payable_id, r.place, r.attempts + 1, r.last_error
            )
            for r in rows
        ]

    def finish_job(self, job_id: int, status: str, at: datetime, error: str | None = None) -> None:
        """`done` or `failed` (kept for inspection)."""
        params = {"b_id": job_id, "status": status, "at": at, "error": error}
        self._sql.run(_FINISH_JOB, params)

    def retry_job(self, job_id: int, at: datetime, error: str) -> None:
        self._sql.run(_RETRY_JOB, {"b_id": job_id, "at": at, "error": error[:200]})

    def pending_jobs(self) -> int:
        return int(self._sql.scalar(_PENDING_JOBS))

    # --- keys ---------------------------------------------------------------------------------

    def add_key(self, signer: str, owner: str, private_pem: bytes, at: datetime) -> int:
        """Install a new active key; the previous one stays, inactive, for verification."""
        self._sql.run(_RETIRE_KEYS, {"b_signer": signer, "b_owner": owner, "at": at})
        row = {
            "signer": signer,
            "owner": owner,
            "private_key_enc": self._box.seal(private_pem, _KEY_CONTEXT),
            "public_key_pem": sm2.public_key_pem(private_pem).decode("ascii"),
            "active": True,
            "created_at": at,
        }
        return int(self._sql.insert(receipt_keys, row).id)

    def signer(self, signer: str, owner: str) -> tuple[int, sm2.Sm2Signer] | None:
        row = self._sql.one(_SIGNER, {"signer": signer, "owner": owner})
        return None if row is None else (row.id, _signer(row.private_key_enc, self._box))

    def keys(self) -> list[SigningKey]:
        return [_key(row) for row in self._sql.all(_KEYS)]

    def public_key(self, key_id: int) -> bytes:
        return str(self._sql.scalar(_PUBLIC_KEY, {"id": key_id})).encode("ascii")

    # --- stock --------------------------------------------------------------------------------

    def add_stock(
        self,
        code: str,
        start: int,
        end: int,
        *,
        unit_id: int | None,
        issuing_point: str | None,
        actor: str,
        at: datetime,
    ) -> int:
        row = {
            "code": code,
            "start_no": start,
            "end_no": end,
            "next_no": start,
            "unit_id": unit_id,
            "issuing_point": issuing_point,
            "status": "active",
            "allocated_by": actor,
            "created_at": at,
        }
        return int(self._sql.insert(receipt_stocks, row).id)

    def overlaps(self, code: str, start: int, end: int) -> bool:
        return self._sql.one(_OVERLAPS, {"code": code, "start": start, "end": end}) is not None

    def stocks(self, unit_id: int | None = None) -> list[StockRange]:
        if unit_id is None:
            return [_stock(row) for row in self._sql.all(_STOCKS)]
        return [_stock(row) for row in self._sql.all(_UNIT_STOCKS_ALL, {"unit_id": unit_id})]

    def draw(self, unit_id: int, place: str | None) -> DrawnNumber:
        """The next number of the unit's (or the 开票点's) oldest active range, under a row lock."""
        if place:
            row = self._sql.one(_DRAW_POINT, {"place": place, "unit_id": unit_id})
        else:
            row = self._sql.one(_DRAW_UNIT, {"unit_id": unit_id})
        if row is None:
            where = f"开票点 {place}" if place else "本单位"
            raise ReceiptStockExhausted(f"{where}没有可用的票据号段，请财政部门分配号段")
        numbers = NumberRange(row.code, row.start_no, row.end_no, row.next_no)
        number = numbers.draw()
        status = "exhausted" if numbers.exhausted else "active"
        self._sql.run(_ADVANCE, {"b_id": row.id, "next_no": numbers.next, "status": status})
        return DrawnNumber(row.id, row.code, number)

    # --- receipts -----------------------------------------------------------------------------

    def add(self, receipt: NewReceipt) -> int:
        row: dict[str, Any] = {**asdict(receipt), "status": "issued", "print_count": 0}
        return int(self._sql.insert(receipts, row).id)

    def by_ref(self, kind: str, ref: str) -> StoredReceipt | None:
        return self._one(_BY_REF, {"kind": kind, "ref": ref})

    def by_number(self, code: str, number: str, *, lock: bool = False) -> StoredReceipt | None:
        params = {"code": code, "number": number}
        return self._one(_BY_NUMBER_LOCKED if lock else _BY_NUMBER, params)

    def by_id(self, receipt_id: int) -> StoredReceipt | None:
        return self._one(_BY_ID, {"id": receipt_id})

    def live_for_payable(self, payable_id: int, *, lock: bool = False) -> StoredReceipt | None:
        """The payable's normal receipt that has not been reversed (at most one)."""
        return self._one(_LIVE_LOCKED if lock else _LIVE, {"payable_id": payable_id})

    def for_payable(self, payable_id: int) -> list[StoredReceipt]:
        return [_receipt(row) for row in self._sql.all(_FOR_PAYABLE, {"payable_id": payable_id})]

    def issued_between(self, unit_id: int, start: datetime, end: datetime) -> list[StoredReceipt]:
        params = {"unit_id": unit_id, "start": start, "end": end}
        return [_receipt(row) for row in self._sql.all(_ISSUED_BETWEEN, params)]

    def settled_payables(self, unit_id: int, start: datetime, end: datetime) -> list[int]:
        """Ids of the unit's payables paid in [start, end) that are still settled."""
        params = {"unit_id": unit_id, "start": start, "end": end}
        return [row.id for row in self._sql.all(_SETTLED, params)]

    def count_from_stock(self, stock_id: int) -> int:
        return int(self._sql.scalar(_COUNT_FROM_STOCK, {"stock_id": stock_id}))

    def set_status(self, receipt_id: int, status: str) -> None:
        self._sql.run(_SET_STATUS, {"b_id": receipt_id, "status": status})

    def cached_pdf(self, receipt_id: int) -> bytes | None:
        value = self._sql.scalar(_CACHED_PDF, {"id": receipt_id})
        return None if value is None else bytes(value)

    def cache_pdf(self, receipt_id: int, pdf: bytes) -> None:
        """Keep the first rendering (a concurrent second one does not replace it)."""
        self._sql.run(_CACHE_PDF, {"b_id": receipt_id, "pdf": pdf})

    def record_print(self, receipt_id: int, at: datetime, place: str, reprint: bool) -> None:
        row = {"receipt_id": receipt_id, "at": at, "place": place, "reprint": reprint}
        self._sql.insert(receipt_prints, row)
        self._sql.run(_COUNT_PRINT, {"b_id": receipt_id})

    def prints_between(self, unit_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        """(prints, reprints) of the unit's receipts in [start, end)."""
        params = {"unit_id": unit_id, "start": start, "end": end}
        flags = [bool(row.reprint) for row in self._sql.all(_PRINTS_BETWEEN, params)]
        return len(flags), sum(flags)

    def book(self, receipt_id: int, at: datetime, by: str) -> bool:
        """Mark booked (入账) once; False when it already was."""
        return self._sql.run(_BOOK, {"b_id": receipt_id, "at": at, "by": by}) == 1

    def _one(self, stmt: Any, params: dict[str, Any]) -> StoredReceipt | None:
        row = self._sql.one(stmt, params)
        return None if row is None else _receipt(row)


def _receipt(row: Any) -> StoredReceipt:
    return StoredReceipt(
        id=row.id,
        code=row.code,
        number=row.number,
        check_code=row.check_code,
        kind=row.kind,
        status=row.status,
        payable_id=row.payable_id,
        unit_id=row.unit_id,
        stock_id=row.stock_id,
        ref=row.ref,
        original_id=row.original_id,
        total_fen=row.total_fen,
        xml=bytes(row.xml),
        unit_signature=bytes(row.unit_signature),
        finance_signature=bytes(row.finance_signature),
        unit_key_id=row.unit_key_id,
        finance_key_id=row.finance_key_id,
        issued_at=utc(row.issued_at),
        print_count=row.print_count,
        booked_at=utc(row.booked_at) if row.booked_at else None,
        booked_by=row.booked_by,
    )


def _key(row: Any) -> SigningKey:
    return SigningKey(
        row.id,
        row.signer,
        row.owner,
        str(row.public_key_pem).encode("ascii"),
        bool(row.active),
        utc(row.created_at),
    )


def _stock(row: Any) -> StockRange:
    return StockRange(
        row.id,
        row.code,
        row.start_no,
        row.end_no,
        row.next_no,
        row.unit_id,
        row.issuing_point,
        row.status,
    )
