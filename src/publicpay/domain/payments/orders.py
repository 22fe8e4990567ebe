"""Payment orders (支付订单): one attempt to pay a payable through one channel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, InvalidTransition
from publicpay.domain.events import DomainEvent


class OrderStatus(StrEnum):
    PAYING = "paying"  # created at the channel, waiting for the payer
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # closed/cancelled unpaid, or expired
    FAILED = "failed"
    REVERSED = "reversed"  # 冲正: a counter payment undone by the bank on its business day


class OrderMethod(StrEnum):
    QR = "qr"  # payer scans our QR (主扫)
    BARCODE = "barcode"  # we scan the payer's 付款码 (被扫)
    COUNTER = "counter"
    CASH = "cash"
    CARD = "card"  # card present at a window's POS terminal (银行卡)
    WAP = "wap"  # Alipay 手机网站支付: the phone's browser goes to Alipay's cashier
    H5 = "h5"  # WeChat Pay H5: the phone's browser (not WeChat) opens WeChat to pay
    JSAPI = "jsapi"  # WeChat Pay inside WeChat's browser (公众号支付, WeixinJSBridge)


# Orders a payer opens from the pay page: a payable keeps only a few of them open at once.
PAYER_METHODS = frozenset({OrderMethod.QR, OrderMethod.WAP, OrderMethod.H5, OrderMethod.JSAPI})


_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAYING: frozenset({OrderStatus.SUCCEEDED, OrderStatus.CLOSED, OrderStatus.FAILED}),
    # A payment the channel reports after we closed it is real money: the order records it.
    OrderStatus.CLOSED: frozenset({OrderStatus.SUCCEEDED}),
    OrderStatus.FAILED: frozenset({OrderStatus.SUCCEEDED}),
    OrderStatus.SUCCEEDED: frozenset({OrderStatus.REVERSED}),
    OrderStatus.REVERSED: frozenset(),
}


class Outcome(StrEnum):
    """What applying a channel's word (a notification, a query, a counter or cash payment) to
    one of our orders did; kept with the notification in the inbox."""

    PAID = "paid"
    ALREADY_APPLIED = "already_applied"
    DUPLICATE_REFUNDING = "duplicate_refunding"  # a second payment: owed back, refund queued
    CLOSED = "closed"
    UNCHANGED = "unchanged"
    PENDING = "pending"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNKNOWN_ORDER = "unknown_order"
    STORED = "stored"  # kept in the inbox, nothing to apply
    REFUND_APPLIED = "refund_applied"
    REVERSED = "reversed"  # a counter payment undone (冲正)

    @property
    def accepted(self) -> bool:
        """The channel may stop sending: we took its word (or it needs no action)."""
        return self not in (Outcome.AMOUNT_MISMATCH, Outcome.UNKNOWN_ORDER)


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in _TRANSITIONS[current]:
        raise InvalidTransition(f"支付订单状态 {current} 不能变为 {target}")


def is_open(status: OrderStatus) -> bool:
    return status is OrderStatus.PAYING


@dataclass(slots=True)
class Order:
    id: int
    order_no: str
    payable_id: int
    channel: str
    method: OrderMethod
    amount_fen: int
    status: OrderStatus
    qr_code: str | None
    channel_trade_no: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None = None
    closed_at: datetime | None = None  # closed, failed or reversed at
    channel_account_id: int | None = None  # the merchant account (None: platform default)
    site_id: int | None = None  # where it was taken (a window or a device), when in person
    window_id: int | None = None
    device_id: int | None = None
    shift_id: int | None = None  # the cashier's shift it belongs to
    cart_id: int | None = None  # settled as part of a cart (the channel saw the cart's order)

    def mark_succeeded(
        self, channel_trade_no: str | None, paid_at: datetime | None, *, at: datetime
    ) -> list[DomainEvent]:
        """The channel took the money. A success for an order we had closed or failed is real
        money too: recorded, with a discrepancy to look at."""
        check_transition(self.status, OrderStatus.SUCCEEDED)
        events: list[DomainEvent] = []
        if self.status is not OrderStatus.PAYING:
            events.append(LateSuccess(self, self.status, at))
        self.status = OrderStatus.SUCCEEDED
        self.channel_trade_no = channel_trade_no
        self.paid_at = paid_at or at
        return events

    def close(self, *, at: datetime, failed: bool = False) -> None:
        """Closed unpaid (expired, cancelled at the channel) or failed."""
        target = OrderStatus.FAILED if failed else OrderStatus.CLOSED
        check_transition(self.status, target)
        self.status = target
        self.closed_at = at

    def refuse_amount(
        self, payable_id: int, reported_fen: int | None, *, at: datetime
    ) -> list[DomainEvent]:
        """The channel reports another amount than we asked for: never booked; the order ends
        (failed) and the discrepancy is resolved by hand."""
        event = AmountMismatch(self, payable_id, reported_fen, at)
        if self.status is OrderStatus.PAYING:
            self.close(at=at, failed=True)
        return [event]

    def reverse(self, *, at: datetime) -> None:
        """冲正: a counter payment undone by the bank on its business day."""
        check_transition(self.status, OrderStatus.REVERSED)
        self.status = OrderStatus.REVERSED
        self.closed_at = at


@dataclass(frozen=True, slots=True)
class LateSuccess(DomainEvent):
    """The channel reported success for an order we had closed (recovered, and recorded)."""

    order: Order
    was: OrderStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class AmountMismatch(DomainEvent):
    order: Order
    payable_id: int
    reported_fen: int | None
    at: datetime


class TooManyOpenOrders(Conflict):
    code = "too_many_open_orders"
    title = "未完成的支付订单过多"


def check_open_orders(orders: Sequence[Order], now: datetime, limit: int) -> None:
    """A payer may keep at most `limit` unpaid QR orders of one payable open at once (each one
    an order at a channel); expired ones do not count, the recovery job closes them."""
    open_now = [o for o in orders if is_open(o.status) and o.expires_at > now]
    if len(open_now) >= limit:
        wait = min(o.expires_at for o in open_now) - now
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise TooManyOpenOrders(
            f"该缴款单已有 {len(open_now)} 笔未完成的支付订单，请用已打开的二维码支付，"
            f"或约 {minutes} 分钟后再试"
        )
