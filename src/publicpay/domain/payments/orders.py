"""Payment orders (支付订单): one attempt to pay a payable through one channel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, InvalidTransition


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


_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAYING: frozenset({OrderStatus.SUCCEEDED, OrderStatus.CLOSED, OrderStatus.FAILED}),
    # A payment the channel reports after we closed it is real money: the order records it.
    OrderStatus.CLOSED: frozenset({OrderStatus.SUCCEEDED}),
    OrderStatus.FAILED: frozenset({OrderStatus.SUCCEEDED}),
    OrderStatus.SUCCEEDED: frozenset({OrderStatus.REVERSED}),
    OrderStatus.REVERSED: frozenset(),
}


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
