"""Ports of e-receipts: their repository, signers and formats, as Protocols (adapters implement
them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from publicpay.domain.payables import Payable
from publicpay.domain.receipts.receipts import ReceiptFace
from publicpay.domain.receipts.records import (
    DrawnNumber,
    JobKind,
    NewReceipt,
    ReceiptJob,
    SigningKey,
    StockRange,
    StoredReceipt,
)


class ReceiptSigner(Protocol):
    """SM2-SM3 signer of one key (unit or finance bureau)."""

    algorithm: str
    signer_id: bytes
    public_key_pem: bytes

    def sign(self, data: bytes) -> bytes: ...


class ReceiptFormats(Protocol):
    """Receipt XML, its two signatures, the face read back from XML, and the PDF."""

    def xml(self, face: ReceiptFace) -> bytes: ...

    def sign(self, xml: bytes, unit: ReceiptSigner, finance: ReceiptSigner) -> tuple[bytes, bytes]:
        """(unit signature over the XML, finance signature over XML + unit signature)."""
        ...

    def face(self, xml: bytes) -> ReceiptFace: ...

    def pdf(self, face: ReceiptFace, *, reprint: bool) -> bytes: ...

    def key_hash(self, public_key_pem: bytes) -> str:
        """SealHash of a signing key: SM3 (hex) of its public key PEM."""
        ...


class ReceiptsRepo(Protocol):
    def enqueue(
        self, kind: JobKind, ref: str, payable_id: int, place: str | None, at: datetime
    ) -> None: ...

    def claim_jobs(self, now: datetime, limit: int, lease: timedelta) -> list[ReceiptJob]: ...

    def finish_job(
        self, job_id: int, status: str, at: datetime, error: str | None = None
    ) -> None: ...

    def retry_job(self, job_id: int, at: datetime, error: str) -> None: ...

    def add_key(self, signer: str, owner: str, private_pem: bytes, at: datetime) -> int: ...

    def signer(self, signer: str, owner: str) -> tuple[int, ReceiptSigner] | None: ...

    def keys(self) -> list[SigningKey]: ...

    def public_key(self, key_id: int) -> bytes: ...

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
    ) -> int: ...

    def overlaps(self, code: str, start: int, end: int) -> bool: ...

    def stocks(self, unit_id: int | None = None) -> list[StockRange]: ...

    def draw(self, unit_id: int, place: str | None) -> DrawnNumber:
        """Raises ReceiptStockExhausted when no active range is left."""
        ...

    def add(self, receipt: NewReceipt) -> int: ...

    def by_ref(self, kind: str, ref: str) -> StoredReceipt | None: ...

    def by_number(self, code: str, number: str, *, lock: bool = False) -> StoredReceipt | None: ...

    def by_id(self, receipt_id: int) -> StoredReceipt | None: ...

    def live_for_payable(self, payable_id: int, *, lock: bool = False) -> StoredReceipt | None: ...

    def for_payable(self, payable_id: int) -> list[StoredReceipt]: ...

    def issued_between(
        self, unit_id: int, start: datetime, end: datetime
    ) -> list[StoredReceipt]: ...

    def settled_payables(self, unit_id: int, start: datetime, end: datetime) -> list[int]: ...

    def count_from_stock(self, stock_id: int) -> int: ...

    def set_status(self, receipt_id: int, status: str) -> None: ...

    def cached_pdf(self, receipt_id: int) -> bytes | None: ...

    def cache_pdf(self, receipt_id: int, pdf: bytes) -> None: ...

    def record_print(self, receipt_id: int, at: datetime, place: str, reprint: bool) -> None: ...

    def prints_between(self, unit_id: int, start: datetime, end: datetime) -> tuple[int, int]: ...

    def book(self, receipt_id: int, at: datetime, by: str) -> bool: ...


@runtime_checkable
class BatchReceipts(ReceiptsRepo, Protocol):
    """What batch issuing needs beyond `ReceiptsRepo` (to be merged into the port)."""

    def units_of(self, payable_ids: Collection[int]) -> dict[int, int]: ...

    def lock_payables(self, payable_ids: Collection[int]) -> dict[int, Payable]:
        """The payables, locked in id order."""
        ...

    def issued_for(
        self, refs: Collection[str], payable_ids: Collection[int]
    ) -> tuple[set[str], set[int]]:
        """(refs that have a normal receipt, payables that have a live receipt)."""
        ...

    def draw_block(self, unit_id: int, place: str | None, count: int) -> list[DrawnNumber]:
        """Up to `count` next numbers of the unit's (or 开票点's) ranges, in order, under lock."""
        ...

    def add_many(self, rows: Sequence[NewReceipt]) -> None: ...

    def finish_jobs(self, job_ids: Collection[int], at: datetime) -> None: ...
