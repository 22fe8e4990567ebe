"""Ports: what services need from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from publicpay.domain.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    TradeResult,
)
from publicpay.domain.orders import Order
from publicpay.domain.payables import Payable
from publicpay.domain.receipt_records import (
    DrawnNumber,
    JobKind,
    NewReceipt,
    ReceiptJob,
    SigningKey,
    StockRange,
    StoredReceipt,
)
from publicpay.domain.receipts import ReceiptFace


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class ChannelGateway(Protocol):
    """One payment channel. Every method speaks the channel's real wire protocol.

    Transport failures (timeout, 5xx, unparsable answer) raise `ChannelUnavailable`; business
    refusals raise `ChannelRejected`; a notification that fails verification raises
    `InvalidNotification`.
    """

    channel: Channel

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder: ...

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult: ...

    def query(self, order_no: str) -> TradeResult: ...

    def close(self, order_no: str) -> None: ...

    def cancel(self, order_no: str) -> TradeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...

    def ack(self, ok: bool) -> NotificationAck: ...

    def fetch_statement(self, day: date) -> bytes: ...


class Gateways(Protocol):
    def get(self, channel: Channel) -> ChannelGateway:
        """The platform default account's gateway, or ValidationFailed('渠道未开通')."""
        ...

    def for_unit(self, channel: Channel, unit_id: int) -> tuple[int | None, ChannelGateway]:
        """(account id, gateway) of the most specific account configured for the unit."""
        ...

    def for_account(self, channel: Channel, account_id: int | None) -> ChannelGateway:
        """The gateway of the account an order was opened with."""
        ...


class Box(Protocol):
    def seal_text(self, text: str, context: bytes = b"") -> bytes: ...

    def open_text(self, sealed: bytes, context: bytes = b"") -> str: ...

    def lookup_hash(self, text: str) -> str: ...


class PayablesRepo(Protocol):
    def next_id(self) -> int: ...

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        created_at: datetime,
    ) -> None: ...

    def by_biz_no(self, unit_id: int, biz_no: str) -> Payable | None: ...

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None: ...

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None: ...

    def for_order(self, order_no: str) -> Payable | None:
        """The payable of one of its orders, locked (None: no such order)."""
        ...

    def save(self, payable: Payable) -> None: ...


class OrdersRepo(Protocol):
    def add(self, order: Order) -> int: ...

    def by_no(self, order_no: str, *, lock: bool = False) -> Order | None: ...

    def by_id(self, order_id: int) -> Order | None: ...

    def open_created_before(self, before: datetime, limit: int) -> list[str]: ...

    def save(self, order: Order, *, closed_at: datetime | None = None) -> None: ...

    def locked_with_payable(self, order_no: str) -> tuple[Payable, Order] | None:
        """The order and its payable, both locked (payable first)."""
        ...


class InboxRepo(Protocol):
    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool: ...

    def outcome(self, channel: str, notify_id: str) -> str | None: ...

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None: ...

    def record(
        self,
        channel: str,
        notify_id: str,
        order_no: str,
        body: str,
        outcome: str,
        at: datetime,
        *,
        final: frozenset[str],
    ) -> None:
        """Store a processed notification with its outcome (a stored `final` outcome stays)."""
        ...


class DiscrepanciesRepo(Protocol):
    def add(
        self,
        kind: str,
        channel: str,
        order_no: str,
        payable_id: int | None,
        amount_fen: int | None,
        detail: dict[str, Any],
        at: datetime,
    ) -> bool: ...


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


class ReceiptsRepo(Protocol):
    def enqueue(
        self, kind: JobKind, ref: str, payable_id: int, place: str | None, at: datetime
    ) -> bool: ...

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
