"""In-memory e-receipt repository (jobs, signing keys, number stock, receipts, prints), and
stand-ins for the SM2 signers and the XML/PDF formats.

Numbers are drawn with the domain's `NumberRange`, as `ReceiptsRepository.draw` and
`BatchIssuing.draw_block` do: the unit's oldest active range first (an 开票点's own ranges when a
place is given), a used-up range marked exhausted, `ReceiptStockExhausted` when none is left.
The stock is part of the transaction, so a rollback gives the numbers back (no gaps).

`FakeReceiptFormats` keeps the face as JSON instead of the signed XML and "signs" with SHA-256:
enough for the services, which only store, sign and read back what they built.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from publicpay.domain.payables import Payable
from publicpay.domain.receipts.receipts import (
    NumberRange,
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    ReceiptStockExhausted,
    Seal,
)
from publicpay.domain.receipts.records import (
    DrawnNumber,
    JobKind,
    NewReceipt,
    ReceiptJob,
    SigningKey,
    StockRange,
    StoredReceipt,
)
from publicpay.services.receipts.ports import ReceiptSigner
from tests.fakes.database import (
    FakeDatabase,
    JobRow,
    KeyRow,
    PrintRow,
    ReceiptRow,
    StockRow,
    refuse_duplicate,
)
from tests.fakes.repositories import PAYABLES

JOBS = "receipt_jobs"
KEYS = "receipt_keys"
STOCKS = "receipt_stocks"
RECEIPTS = "receipts"
PRINTS = "receipt_prints"
SETTLED = ("paid", "partially_refunded", "refunded")


class FakeSigner:
    """A signing key (`ReceiptSigner`): its "public key" is derived from the private bytes,
    signatures are SHA-256 over key and data (deterministic, different per key)."""

    algorithm = "FAKE-SHA256"

    def __init__(self, private_pem: bytes) -> None:
        self.private_pem = private_pem
        self.signer_id = hashlib.sha256(b"id" + private_pem).digest()[:16]
        self.public_key_pem = b"FAKE PUBLIC KEY " + hashlib.sha256(private_pem).hexdigest().encode()

    def sign(self, data: bytes) -> bytes:
        return hashlib.sha256(self.private_pem + data).digest()


class FakeReceiptFormats:
    """`ReceiptFormats` without XML or PDF: the face as JSON, SHA-256 "signatures"."""

    def xml(self, face: ReceiptFace) -> bytes:
        return json.dumps(asdict(face), default=str, ensure_ascii=False).encode()  # Decimal too

    def sign(self, xml: bytes, unit: ReceiptSigner, finance: ReceiptSigner) -> tuple[bytes, bytes]:
        unit_signature = unit.sign(xml)
        return unit_signature, finance.sign(xml + unit_signature)

    def face(self, xml: bytes) -> ReceiptFace:
        data = json.loads(xml)
        data["issued_at"] = datetime.fromisoformat(data["issued_at"])
        data["lines"] = tuple(
            ReceiptLine(**{**line, "quantity": _quantity(line["quantity"])})
            for line in data["lines"]
        )
        data["kind"] = ReceiptKind(data["kind"])
        data["unit_seal"] = Seal(**data["unit_seal"])
        data["supervisor_seal"] = Seal(**data["supervisor_seal"])
        return ReceiptFace(**data)

    def pdf(self, face: ReceiptFace, *, reprint: bool) -> bytes:
        return f"%PDF-fake {face.code}-{face.number} reprint={reprint}".encode()

    def key_hash(self, public_key_pem: bytes) -> str:
        return hashlib.sha256(public_key_pem).hexdigest()


def _quantity(value: int | str) -> int | Decimal:
    return value if isinstance(value, int) else Decimal(value)


def _stored(row: ReceiptRow) -> StoredReceipt:
    r = row.receipt
    fields = {f.name: getattr(r, f.name) for f in dataclass_fields(NewReceipt)}
    return StoredReceipt(
        id=row.id,
        status=row.status,
        print_count=row.print_count,
        booked_at=row.booked_at,
        booked_by=row.booked_by,
        **fields,
    )


class FakeReceipts:
    """`enqueue` and `add_many` are queued; everything else runs at once (issuing reads back
    what it draws and stores), as in `ReceiptsRepository`."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _t(self) -> Any:
        return self._db.tables

    # --- jobs ---------------------------------------------------------------------------------

    def enqueue(
        self, kind: JobKind, ref: str, payable_id: int, place: str | None, at: datetime
    ) -> None:
        """Idempotent by (kind, ref): an existing job is left as it is."""
        self._db.queue(JOBS)
        if any(r.job.kind is kind and r.job.ref == ref for r in self._t.receipt_jobs.values()):
            return
        job_id = self._db.next_id(JOBS)
        job = ReceiptJob(job_id, kind, ref, payable_id, place, 0, None)
        self._t.receipt_jobs[job_id] = JobRow(job, "pending", at, at)

    def claim_jobs(self, now: datetime, limit: int, lease: timedelta) -> list[ReceiptJob]:
        self._db.read(JOBS)
        due = [
            r
            for r in sorted(self._t.receipt_jobs.values(), key=lambda r: r.job.id)
            if r.status == "pending" and r.next_attempt_at is not None and r.next_attempt_at <= now
        ][:limit]
        for r in due:
            r.job = replace(r.job, attempts=r.job.attempts + 1)
            r.next_attempt_at = now + lease
        return [r.job for r in due]

    def finish_job(self, job_id: int, status: str, at: datetime, error: str | None = None) -> None:
        self._db.read(JOBS)
        row = self._t.receipt_jobs.get(job_id)  # an UPDATE by id: no such job, no change
        if row is not None:
            row.status, row.done_at, row.next_attempt_at = status, at, None
            row.job = replace(row.job, last_error=error)

    def retry_job(self, job_id: int, at: datetime, error: str) -> None:
        self._db.read(JOBS)
        row = self._t.receipt_jobs.get(job_id)
        if row is not None:
            row.next_attempt_at = at
            row.job = replace(row.job, last_error=error[:200])

    def finish_jobs(self, job_ids: Collection[int], at: datetime) -> None:
        for job_id in job_ids:
            self.finish_job(job_id, "done", at)

    # --- keys ---------------------------------------------------------------------------------

    def add_key(self, signer: str, owner: str, private_pem: bytes, at: datetime) -> int:
        """A new active key; the previous one stays, inactive, for verification."""
        self._db.read(KEYS)
        for row in self._t.receipt_keys.values():
            if (row.signer, row.owner) == (signer, owner):
                row.active = False
        key_id = self._db.next_id(KEYS)
        self._t.receipt_keys[key_id] = KeyRow(key_id, signer, owner, private_pem, True, at)
        return key_id

    def signer(self, signer: str, owner: str) -> tuple[int, FakeSigner] | None:
        self._db.read(KEYS)
        active = [
            row
            for row in self._t.receipt_keys.values()
            if (row.signer, row.owner, row.active) == (signer, owner, True)
        ]
        if not active:
            return None
        row = max(active, key=lambda r: r.id)
        return row.id, FakeSigner(row.private_pem)

    def keys(self) -> list[SigningKey]:
        self._db.read(KEYS)
        rows = sorted(self._t.receipt_keys.values(), key=lambda r: r.id)
        return [
            SigningKey(
                r.id,
                r.signer,
                r.owner,
                FakeSigner(r.private_pem).public_key_pem,
                r.active,
                r.created_at,
            )
            for r in rows
        ]

    def public_key(self, key_id: int) -> bytes:
        self._db.read(KEYS)
        return FakeSigner(self._t.receipt_keys[key_id].private_pem).public_key_pem

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
        self._db.read(STOCKS)
        stock_id = self._db.next_id(STOCKS)
        stock = StockRange(stock_id, code, start, end, start, unit_id, issuing_point, "active")
        self._t.stocks[stock_id] = StockRow(stock, actor, at)
        return stock_id

    def overlaps(self, code: str, start: int, end: int) -> bool:
        self._db.read(STOCKS)
        return any(
            r.stock.code == code and r.stock.start <= end and r.stock.end >= start
            for r in self._t.stocks.values()
        )

    def stocks(self, unit_id: int | None = None) -> list[StockRange]:
        self._db.read(STOCKS)
        rows = sorted(self._t.stocks.values(), key=lambda r: r.stock.id)
        return [r.stock for r in rows if unit_id is None or r.stock.unit_id == unit_id]

    def _active(self, unit_id: int, place: str | None) -> list[StockRow]:
        """The ranges a unit (no place: its own, not an 开票点's) or an 开票点 draws from."""
        rows = sorted(self._t.stocks.values(), key=lambda r: r.stock.id)
        if place:
            mine = [r for r in rows if r.stock.issuing_point == place]
            mine = [r for r in mine if r.stock.unit_id in (unit_id, None)]
        else:
            mine = [r for r in rows if r.stock.unit_id == unit_id and r.stock.issuing_point is None]
        return [r for r in mine if r.stock.status == "active"]

    def _take(self, row: StockRow, count: int) -> list[DrawnNumber]:
        s = row.stock
        numbers = NumberRange(s.code, s.start, s.end, s.next)
        drawn = [DrawnNumber(s.id, s.code, numbers.draw()) for _ in range(count)]
        status = "exhausted" if numbers.exhausted else "active"
        row.stock = replace(s, next=numbers.next, status=status)
        return drawn

    def draw(self, unit_id: int, place: str | None) -> DrawnNumber:
        """The next number of the oldest active range; ReceiptStockExhausted when none."""
        self._db.read(STOCKS)
        active = self._active(unit_id, place)
        if not active:
            where = f"开票点 {place}" if place else "本单位"
            raise ReceiptStockExhausted(f"{where}没有可用的票据号段，请财政部门分配号段")
        return self._take(active[0], 1)[0]

    def draw_block(self, unit_id: int, place: str | None, count: int) -> list[DrawnNumber]:
        """Up to `count` next numbers, oldest range first (fewer when the stock runs out)."""
        self._db.read(STOCKS)
        drawn: list[DrawnNumber] = []
        for row in self._active(unit_id, place):
            if len(drawn) == count:
                break
            left = row.stock.end + 1 - row.stock.next
            drawn += self._take(row, min(count - len(drawn), left))
        return drawn

    # --- receipts -----------------------------------------------------------------------------

    def add(self, receipt: NewReceipt) -> int:
        self._db.read(RECEIPTS)
        refuse_duplicate(
            any(
                (r.receipt.code, r.receipt.number) == (receipt.code, receipt.number)
                or (r.receipt.kind, r.receipt.ref) == (receipt.kind, receipt.ref)
                for r in self._t.receipts.values()
            )
        )
        receipt_id = self._db.next_id(RECEIPTS)
        self._t.receipts[receipt_id] = ReceiptRow(receipt_id, receipt)
        return receipt_id

    def add_many(self, rows: Sequence[NewReceipt]) -> None:
        """Queued (one insert with the commit): unique keys are checked then."""
        self._db.queue(RECEIPTS)
        for receipt in rows:
            receipt_id = self._db.next_id(RECEIPTS)
            self._t.receipts[receipt_id] = ReceiptRow(receipt_id, receipt)

    def by_ref(self, kind: str, ref: str) -> StoredReceipt | None:
        self._db.read(RECEIPTS)
        found = [r for r in self._rows() if (r.receipt.kind, r.receipt.ref) == (kind, ref)]
        return _stored(found[0]) if found else None

    def _rows(self) -> list[ReceiptRow]:
        return sorted(self._t.receipts.values(), key=lambda r: r.id)

    def by_number(self, code: str, number: str, *, lock: bool = False) -> StoredReceipt | None:
        self._db.read(RECEIPTS)
        found = [r for r in self._rows() if (r.receipt.code, r.receipt.number) == (code, number)]
        return _stored(found[0]) if found else None

    def by_id(self, receipt_id: int) -> StoredReceipt | None:
        self._db.read(RECEIPTS)
        row = self._t.receipts.get(receipt_id)
        return None if row is None else _stored(row)

    def live_for_payable(self, payable_id: int, *, lock: bool = False) -> StoredReceipt | None:
        """The payable's normal receipt that has not been reversed (at most one)."""
        self._db.read(RECEIPTS)
        live = [
            r
            for r in self._rows()
            if r.receipt.payable_id == payable_id
            and r.receipt.kind == "normal"
            and r.status == "issued"
        ]
        return _stored(live[0]) if live else None

    def for_payable(self, payable_id: int) -> list[StoredReceipt]:
        self._db.read(RECEIPTS)
        return [_stored(r) for r in self._rows() if r.receipt.payable_id == payable_id]

    def issued_between(self, unit_id: int, start: datetime, end: datetime) -> list[StoredReceipt]:
        self._db.read(RECEIPTS)
        return [
            _stored(r)
            for r in self._rows()
            if r.receipt.unit_id == unit_id and start <= r.receipt.issued_at < end
        ]

    def settled_payables(self, unit_id: int, start: datetime, end: datetime) -> list[int]:
        self._db.read(PAYABLES)
        return sorted(
            row.payable.id
            for row in self._t.payables.values()
            if row.payable.unit_id == unit_id
            and row.payable.status.value in SETTLED
            and row.payable.paid_at is not None
            and start <= row.payable.paid_at < end
        )

    def count_from_stock(self, stock_id: int) -> int:
        self._db.read(RECEIPTS)
        return sum(1 for r in self._rows() if r.receipt.stock_id == stock_id)

    def set_status(self, receipt_id: int, status: str) -> None:
        self._db.read(RECEIPTS)
        row = self._t.receipts.get(receipt_id)
        if row is not None:
            row.status = status

    def cached_pdf(self, receipt_id: int) -> bytes | None:
        self._db.read(RECEIPTS)
        row = self._t.receipts.get(receipt_id)
        return None if row is None else row.pdf

    def cache_pdf(self, receipt_id: int, pdf: bytes) -> None:
        """Keep the first rendering."""
        self._db.read(RECEIPTS)
        row = self._t.receipts.get(receipt_id)
        if row is not None and row.pdf is None:
            row.pdf = pdf

    def record_print(self, receipt_id: int, at: datetime, place: str, reprint: bool) -> None:
        self._db.read(PRINTS, RECEIPTS)
        self._t.prints.append(PrintRow(receipt_id, at, place, reprint))
        self._t.receipts[receipt_id].print_count += 1

    def prints_between(self, unit_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        self._db.read(PRINTS, RECEIPTS)
        flags = [
            p.reprint
            for p in self._t.prints
            if self._t.receipts[p.receipt_id].receipt.unit_id == unit_id and start <= p.at < end
        ]
        return len(flags), sum(flags)

    def book(self, receipt_id: int, at: datetime, by: str) -> bool:
        """Mark booked (入账) once; False when it already was."""
        self._db.read(RECEIPTS)
        row = self._t.receipts.get(receipt_id)
        if row is None or row.booked_at is not None:
            return False
        row.booked_at, row.booked_by = at, by
        return True

    # --- batch issuing (BatchReceipts) --------------------------------------------------------

    def units_of(self, payable_ids: Collection[int]) -> dict[int, int]:
        self._db.read(PAYABLES)
        rows = self._t.payables
        return {i: rows[i].payable.unit_id for i in payable_ids if i in rows}

    def lock_payables(self, payable_ids: Collection[int]) -> dict[int, Payable]:
        self._db.read(PAYABLES)
        rows = self._t.payables
        return {i: copy.deepcopy(rows[i].payable) for i in sorted(payable_ids) if i in rows}

    def issued_for(
        self, refs: Collection[str], payable_ids: Collection[int]
    ) -> tuple[set[str], set[int]]:
        """(refs that have a normal receipt, payables that have a live normal receipt)."""
        self._db.read(RECEIPTS)
        found, live = set(), set()
        for r in self._rows():
            if r.receipt.kind != "normal":
                continue
            if r.receipt.ref in refs or r.receipt.payable_id in payable_ids:
                found.add(r.receipt.ref)
                if r.status == "issued":
                    live.add(r.receipt.payable_id)
        return found & set(refs), live


__all__ = ["FakeReceiptFormats", "FakeReceipts", "FakeSigner"]
