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

from sqlalchemy import Connection, insert, or_, select, update

from publicpay.adapters.crypto import sm2
from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.deferred import pg_defer
from publicpay.adapters.db.dialect import for_update, insert_ignore, pg_insert_sql, pg_values
from publicpay.adapters.db.leases import claim_leased
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.receipts.batch import BatchIssuing
from publicpay.adapters.db.receipts.tables import (
    receipt_jobs,
    receipt_keys,
    receipt_prints,
    receipt_stocks,
    receipts,
)
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


class ReceiptsRepository(BatchIssuing):
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self._conn = conn
        self._box = box

    # --- jobs ---------------------------------------------------------------------------------

    def enqueue(
        self, kind: JobKind, ref: str, payable_id: int, place: str | None, at: datetime
    ) -> bool:
        """Ask for a receipt job (idempotent: an existing job is left as it is). On PostgreSQL
        it goes out with the transaction's other blind writes and answers True."""
        values = {
            "kind": kind.value,
            "ref": ref,
            "payable_id": payable_id,
            "place": place,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        sql = pg_insert_sql("receipt_jobs", tuple(values), " ON CONFLICT DO NOTHING")
        if pg_defer(self._conn, sql, pg_values(values), key=("receipt_jobs", kind.value, ref)):
            return True
        return insert_ignore(self._conn, receipt_jobs, values)

    def claim_jobs(self, now: datetime, limit: int, lease: timedelta) -> list[ReceiptJob]:
        due = (receipt_jobs.c.status == "pending") & (receipt_jobs.c.next_attempt_at <= now)
        order = (receipt_jobs.c.id,)
        rows = claim_leased(self._conn, receipt_jobs, due, order, limit, now, lease)
        return [
            ReceiptJob(
                r.id, JobKind(r.kind), r.ref, r.payable_id, r.place, r.attempts + 1, r.last_error
            )
            for r in rows
        ]

    def finish_job(self, job_id: int, status: str, at: datetime, error: str | None = None) -> None:
        """`done` or `failed` (kept for inspection)."""
        self._conn.execute(
            update(receipt_jobs)
            .where(receipt_jobs.c.id == job_id)
            .values(status=status, done_at=at, next_attempt_at=None, last_error=error)
        )

    def retry_job(self, job_id: int, at: datetime, error: str) -> None:
        self._conn.execute(
            update(receipt_jobs)
            .where(receipt_jobs.c.id == job_id)
            .values(next_attempt_at=at, last_error=error[:200])
        )

    def pending_jobs(self) -> int:
        stmt = select(receipt_jobs.c.id).where(receipt_jobs.c.status == "pending")
        return len(list(self._conn.execute(stmt)))

    # --- keys ---------------------------------------------------------------------------------

    def add_key(self, signer: str, owner: str, private_pem: bytes, at: datetime) -> int:
        """Install a new active key; the previous one stays, inactive, for verification."""
        self._conn.execute(
            update(receipt_keys)
            .where(
                receipt_keys.c.signer == signer,
                receipt_keys.c.owner == owner,
                receipt_keys.c.active.is_(True),
            )
            .values(active=False, retired_at=at)
        )
        result = self._conn.execute(
            insert(receipt_keys).values(
                signer=signer,
                owner=owner,
                private_key_enc=self._box.seal(private_pem, _KEY_CONTEXT),
                public_key_pem=sm2.public_key_pem(private_pem).decode("ascii"),
                active=True,
                created_at=at,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def signer(self, signer: str, owner: str) -> tuple[int, sm2.Sm2Signer] | None:
        stmt = select(receipt_keys.c.id, receipt_keys.c.private_key_enc).where(
            receipt_keys.c.signer == signer,
            receipt_keys.c.owner == owner,
            receipt_keys.c.active.is_(True),
        )
        row = self._conn.execute(stmt.order_by(receipt_keys.c.id.desc()).limit(1)).first()
        return None if row is None else (row.id, _signer(row.private_key_enc, self._box))

    def keys(self) -> list[SigningKey]:
        stmt = select(receipt_keys).order_by(receipt_keys.c.id)
        return [_key(row) for row in self._conn.execute(stmt)]

    def public_key(self, key_id: int) -> bytes:
        stmt = select(receipt_keys.c.public_key_pem).where(receipt_keys.c.id == key_id)
        return str(self._conn.execute(stmt).scalar_one()).encode("ascii")

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
        result = self._conn.execute(
            insert(receipt_stocks).values(
                code=code,
                start_no=start,
                end_no=end,
                next_no=start,
                unit_id=unit_id,
                issuing_point=issuing_point,
                status="active",
                allocated_by=actor,
                created_at=at,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def overlaps(self, code: str, start: int, end: int) -> bool:
        stmt = select(receipt_stocks.c.id).where(
            receipt_stocks.c.code == code,
            receipt_stocks.c.start_no <= end,
            receipt_stocks.c.end_no >= start,
        )
        return self._conn.execute(stmt.limit(1)).first() is not None

    def stocks(self, unit_id: int | None = None) -> list[StockRange]:
        stmt = select(receipt_stocks).order_by(receipt_stocks.c.id)
        if unit_id is not None:
            stmt = stmt.where(receipt_stocks.c.unit_id == unit_id)
        return [_stock(row) for row in self._conn.execute(stmt)]

    def draw(self, unit_id: int, place: str | None) -> DrawnNumber:
        """The next number of the unit's (or the 开票点's) oldest active range, under a row lock."""
        stmt = select(receipt_stocks).where(receipt_stocks.c.status == "active")
        if place:
            stmt = stmt.where(
                receipt_stocks.c.issuing_point == place,
                or_(receipt_stocks.c.unit_id == unit_id, receipt_stocks.c.unit_id.is_(None)),
            )
        else:
            stmt = stmt.where(
                receipt_stocks.c.unit_id == unit_id, receipt_stocks.c.issuing_point.is_(None)
            )
        row = self._conn.execute(for_update(stmt.order_by(receipt_stocks.c.id).limit(1))).first()
        if row is None:
            where = f"开票点 {place}" if place else "本单位"
            raise ReceiptStockExhausted(f"{where}没有可用的票据号段，请财政部门分配号段")
        numbers = NumberRange(row.code, row.start_no, row.end_no, row.next_no)
        number = numbers.draw()
        self._conn.execute(
            update(receipt_stocks)
            .where(receipt_stocks.c.id == row.id)
            .values(next_no=numbers.next, status="exhausted" if numbers.exhausted else "active")
        )
        return DrawnNumber(row.id, row.code, number)

    # --- receipts -----------------------------------------------------------------------------

    def add(self, receipt: NewReceipt) -> int:
        values: dict[str, Any] = asdict(receipt)
        values.update(status="issued", print_count=0)
        result = self._conn.execute(insert(receipts).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def by_ref(self, kind: str, ref: str) -> StoredReceipt | None:
        stmt = select(*_COLUMNS).where(receipts.c.kind == kind, receipts.c.ref == ref)
        return self._one(stmt)

    def by_number(self, code: str, number: str, *, lock: bool = False) -> StoredReceipt | None:
        stmt = select(*_COLUMNS).where(receipts.c.code == code, receipts.c.number == number)
        return self._one(for_update(stmt) if lock else stmt)

    def by_id(self, receipt_id: int) -> StoredReceipt | None:
        return self._one(select(*_COLUMNS).where(receipts.c.id == receipt_id))

    def live_for_payable(self, payable_id: int, *, lock: bool = False) -> StoredReceipt | None:
        """The payable's normal receipt that has not been reversed (at most one)."""
        stmt = select(*_COLUMNS).where(
            receipts.c.payable_id == payable_id,
            receipts.c.kind == "normal",
            receipts.c.status == "issued",
        )
        return self._one(for_update(stmt) if lock else stmt)

    def for_payable(self, payable_id: int) -> list[StoredReceipt]:
        stmt = select(*_COLUMNS).where(receipts.c.payable_id == payable_id)
        return [_receipt(row) for row in self._conn.execute(stmt.order_by(receipts.c.id))]

    def issued_between(self, unit_id: int, start: datetime, end: datetime) -> list[StoredReceipt]:
        stmt = select(*_COLUMNS).where(
            receipts.c.unit_id == unit_id, receipts.c.issued_at >= start, receipts.c.issued_at < end
        )
        return [_receipt(row) for row in self._conn.execute(stmt.order_by(receipts.c.id))]

    def settled_payables(self, unit_id: int, start: datetime, end: datetime) -> list[int]:
        """Ids of the unit's payables paid in [start, end) that are still settled."""
        stmt = select(payables.c.id).where(
            payables.c.unit_id == unit_id,
            payables.c.paid_at >= start,
            payables.c.paid_at < end,
            payables.c.status.in_(["paid", "partially_refunded", "refunded"]),
        )
        return [row.id for row in self._conn.execute(stmt.order_by(payables.c.id))]

    def count_from_stock(self, stock_id: int) -> int:
        stmt = select(receipts.c.number).where(receipts.c.stock_id == stock_id)
        return len(list(self._conn.execute(stmt)))

    def set_status(self, receipt_id: int, status: str) -> None:
        self._conn.execute(
            update(receipts).where(receipts.c.id == receipt_id).values(status=status)
        )

    def cached_pdf(self, receipt_id: int) -> bytes | None:
        stmt = select(receipts.c.pdf).where(receipts.c.id == receipt_id)
        value = self._conn.execute(stmt).scalar_one_or_none()
        return None if value is None else bytes(value)

    def cache_pdf(self, receipt_id: int, pdf: bytes) -> None:
        """Keep the first rendering (a concurrent second one does not replace it)."""
        self._conn.execute(
            update(receipts)
            .where(receipts.c.id == receipt_id, receipts.c.pdf.is_(None))
            .values(pdf=pdf)
        )

    def record_print(self, receipt_id: int, at: datetime, place: str, reprint: bool) -> None:
        self._conn.execute(
            insert(receipt_prints).values(
                receipt_id=receipt_id, at=at, place=place, reprint=reprint
            )
        )
        self._conn.execute(
            update(receipts)
            .where(receipts.c.id == receipt_id)
            .values(print_count=receipts.c.print_count + 1)
        )

    def prints_between(self, unit_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        """(prints, reprints) of the unit's receipts in [start, end)."""
        stmt = (
            select(receipt_prints.c.reprint)
            .select_from(receipt_prints.join(receipts))
            .where(
                receipts.c.unit_id == unit_id,
                receipt_prints.c.at >= start,
                receipt_prints.c.at < end,
            )
        )
        flags = [bool(row.reprint) for row in self._conn.execute(stmt)]
        return len(flags), sum(flags)

    def book(self, receipt_id: int, at: datetime, by: str) -> bool:
        """Mark booked (入账) once; False when it already was."""
        result = self._conn.execute(
            update(receipts)
            .where(receipts.c.id == receipt_id, receipts.c.booked_at.is_(None))
            .values(booked_at=at, booked_by=by)
        )
        return int(result.rowcount) == 1

    def _one(self, stmt: Any) -> StoredReceipt | None:
        row = self._conn.execute(stmt).first()
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
