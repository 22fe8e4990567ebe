"""Ports: what services need from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Protocol

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
