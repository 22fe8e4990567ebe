"""Ports of payables and their batch registrations, as Protocols (adapters implement them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from publicpay.domain.payable_batches import BatchRecord
from publicpay.domain.payables import Payable


@dataclass(frozen=True, slots=True)
class SealedAttribute:
    """A business attribute as stored: keyed hash of the normalised value, sealed, masked."""

    name: str
    value_hash: str
    value_enc: bytes
    value_masked: str


class PayablesRepo(Protocol):
    """Reads run at once; `add` and `save` are queued, sent with the unit of work's commit."""

    def lookup(self, unit_id: int, biz_no: str) -> tuple[Payable | None, int]:
        """The payable registered under `biz_no`, and the id a new payable would take."""
        ...

    def next_id(self) -> int: ...

    def next_ids(self, count: int) -> list[int]: ...

    def by_biz_nos(self, unit_id: int, biz_nos: Sequence[str]) -> dict[str, Payable]: ...

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        payer_phone_hash: str | None = None,
    ) -> None: ...

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None: ...

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None: ...

    def for_order(self, order_no: str) -> Payable | None:
        """The payable of one of its orders, locked (None: no such order)."""
        ...

    def save(self, payable: Payable) -> None: ...

    def payer_id_enc(self, payable_id: int) -> bytes:
        """The payer's ID number, sealed (open with the box and `PAYER_ID_CONTEXT`)."""
        ...

    def add_attributes(self, payable_id: int, attributes: Sequence[SealedAttribute]) -> None:
        """The business attributes of a new payable (queued, like `add`). Portal/POS (#13)."""
        ...


class BatchesRepo(Protocol):
    def add(self, record: BatchRecord, rows_enc: bytes | None) -> int: ...

    def finish(self, batch_id: int, record: BatchRecord, rows_enc: bytes | None) -> None: ...

    def get(self, batch_id: int, *, lock: bool = False) -> BatchRecord | None: ...

    def rows_of(self, batch_id: int) -> bytes | None: ...

    def forget_rows(self, batch_id: int) -> None: ...

    def prune_previews(self, before: datetime) -> int: ...


class BusinessSystem(Protocol):
    """A unit's business system answering the platform's signed record query
    (adapters/events/business_lookup.py)."""

    def ask(self, url: str, secret: str, event: str, body: bytes) -> dict[str, Any]:
        """The answer, its signature checked; BusinessSystemUnavailable (no answer in time, an
        HTTP error, a refused URL) or BusinessAnswerInvalid (signature, not a JSON object)."""
        ...
