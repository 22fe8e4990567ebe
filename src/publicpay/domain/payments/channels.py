"""What the platform asks of a payment channel and what it gets back, in channel-neutral terms.

Adapters (`adapters/channels/*`) translate these to each channel's wire protocol; amounts are
always integer fen here, whatever the channel puts on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    ALIPAY = "alipay"
    WECHAT = "wechat"
    UNIONPAY = "unionpay"
    COUNTER = "counter"  # bank counter (银行柜面代收)
    CASH = "cash"  # cash at the window (现金)
    CARD = "card"  # bank card at a window's POS terminal, through its acquirer (银行卡)


class TradeState(StrEnum):
    """A channel trade's state as the channel reports it, normalised."""

    PENDING = "pending"  # created / waiting for the payer / USERPAYING
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # closed or cancelled unpaid (also: reversed)
    REFUNDED = "refunded"  # paid, then (fully) refunded: money left the payer once
    FAILED = "failed"
    NOT_FOUND = "not_found"


class RefundState(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class NotificationKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class QrOrderRequest:
    order_no: str  # our out_trade_no, unique per attempt
    amount_fen: int
    subject: str
    notify_url: str
    expires_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class QrOrder:
    order_no: str
    qr_code: str  # what the channel's server returned (a URL the wallet understands)
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BarcodePayRequest:
    order_no: str
    amount_fen: int
    subject: str
    auth_code: str  # the payer's 付款码 as scanned
    notify_url: str


@dataclass(frozen=True, slots=True)
class TradeResult:
    order_no: str
    state: TradeState
    amount_fen: int | None = None
    channel_trade_no: str | None = None
    paid_at: datetime | None = None  # UTC
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order_no: str
    refund_no: str  # our out_request_no / out_refund_no, reused on retry
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str = ""


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_no: str
    state: RefundState
    refund_fen: int
    channel_refund_no: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified channel notification (signature and, where encrypted, decryption done)."""

    channel: Channel
    notify_id: str  # the channel's id for this notification (constant across its retries)
    kind: NotificationKind
    order_no: str
    state: TradeState | RefundState
    amount_fen: int
    app_id: str  # app id / mch id / mer id the notification is addressed to
    channel_trade_no: str | None = None
    refund_no: str | None = None
    paid_at: datetime | None = None  # UTC
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotificationAck:
    """The HTTP answer the channel expects (Alipay: text 'success'; WeChat: 200/204 JSON...)."""

    status_code: int
    body: bytes
    media_type: str
