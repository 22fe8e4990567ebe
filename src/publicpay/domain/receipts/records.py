"""Stored e-receipt records as the services see them (rows of the receipt tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class JobKind(StrEnum):
    ISSUE = "issue"  # a payment: issue the receipt (ref = order no)
    REFUND = "refund"  # a refund: red receipt, and a new one for the remainder (ref = refund no)


@dataclass(frozen=True, slots=True)
class ReceiptJob:
    id: int
    kind: JobKind
    ref: str
    payable_id: int
    place: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    id: int
    code: str
    number: str
    check_code: str
    kind: str  # normal | red
    status: str  # issued | reversed
    payable_id: int
    unit_id: int
    stock_id: int
    ref: str
    original_id: int | None
    total_fen: int
    xml: bytes
    unit_signature: bytes
    finance_signature: bytes
    unit_key_id: int
    finance_key_id: int
    issued_at: datetime
    print_count: int
    booked_at: datetime | None
    booked_by: str | None


@dataclass(frozen=True, slots=True)
class NewReceipt:
    code: str
    number: str
    check_code: str
    kind: str
    payable_id: int
    unit_id: int
    stock_id: int
    ref: str
    original_id: int | None
    total_fen: int
    xml: bytes
    unit_signature: bytes
    finance_signature: bytes
    unit_key_id: int
    finance_key_id: int
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class DrawnNumber:
    stock_id: int
    code: str
    number: str


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: int
    signer: str  # unit | finance
    owner: str  # unit code | finance bureau region code
    public_key_pem: bytes
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StockRange:
    id: int
    code: str
    start: int
    end: int
    next: int
    unit_id: int | None
    issuing_point: str | None
    status: str

    @property
    def used(self) -> int:
        return self.next - self.start

    @property
    def unused(self) -> int:
        return self.end + 1 - self.next


@dataclass(frozen=True, slots=True)
class PrintResult:
    pdf: bytes
    print_count: int
    reprint: bool


@dataclass
class WriteOffReport:
    """核销: one unit, one period (business dates, inclusive)."""

    unit_code: str
    unit_name: str
    date_from: str
    date_to: str
    issued_count: int = 0
    issued_fen: int = 0
    red_count: int = 0
    red_fen: int = 0
    printed_count: int = 0
    reprinted_count: int = 0
    booked_count: int = 0
    paid_count: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0
    stocks: list[StockRange] = field(default_factory=list)
    receipts: list[StoredReceipt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def unused(self) -> int:
        return sum(s.unused for s in self.stocks)

    @property
    def balanced(self) -> bool:
        return not self.problems
