"""Barcode payments at a window or kiosk (被扫): the cashier scans the payer's 付款码.

The auth code's prefix and length tell the channel (`domain.payments.barcodes.detect_channel`);
an order with method BARCODE is reserved as for a QR, the channel is asked to take the money,
and the answer goes through `orders.apply_trade` like every other channel answer.

A payment the channel has not finished (the payer is typing a password: Alipay 10003, WeChat
USERPAYING, UnionPay 05) or whose answer was lost (timeout, 5xx) is queried a bounded number of
times; if it is still not finished it is cancelled (撤销, which also gives back money that slipped
through). WeChat's adapter already polls and reverses inside `pay_barcode`. If even the cancel
cannot reach the channel, the order stays "paying" and recovery cancels it once it expires, so
no barcode order stays paying for ever.

Workflow: calls a channel between transactions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, NotFound
from publicpay.domain.payments.barcodes import detect_channel
from publicpay.domain.payments.channels import BarcodePayRequest, TradeResult, TradeState
from publicpay.domain.payments.orders import OrderMethod, OrderStatus
from publicpay.services.payments.orders import (
    PaymentPolicy,
    apply_trade,
    finish_order,
    reserve_order,
)
from publicpay.services.payments.ports import ChannelGateway, Gateways
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.barcode")  # its name before the reorganisation

FINISHED = frozenset({TradeState.SUCCEEDED, TradeState.CLOSED, TradeState.FAILED})


@dataclass(frozen=True, slots=True)
class BarcodePolling:
    polls: int = 10  # queries while the payer types the password…
    interval_s: float = 3.0  # …this far apart, then cancel
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True)
class BarcodeOutcome:
    order_no: str
    channel: str
    status: OrderStatus
    amount_fen: int
    outcome: str  # what apply_trade said: paid, closed, duplicate_refunding…


def pay_by_barcode(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    payment_code: str,
    auth_code: str,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    polling: BarcodePolling | None = None,
    unit_id: int | None = None,
    source: str | None = None,
) -> BarcodeOutcome:
    """Take a payment by the payer's 付款码. `unit_id`: a device bound to a unit may only take
    that unit's payables; `source`: the device's app id (where the payment is taken)."""
    channel = detect_channel(auth_code)  # ValidationFailed: 无法识别的付款码
    gateways.get(channel)  # 渠道未开通 before anything is stored
    if unit_id is not None:
        _check_unit(new_uow(), payment_code, unit_id)
    order, subject = reserve_order(
        new_uow(),
        payment_code,
        channel,
        OrderMethod.BARCODE,
        clock,
        policy,
        gateways=gateways,
        source=source,
    )
    gateway = gateways.for_account(channel, order.channel_account_id)
    request = BarcodePayRequest(
        order.order_no,
        order.amount_fen,
        subject,
        auth_code.strip(),
        policy.notify_url_for(channel.value, order.channel_account_id),
    )
    try:
        result: TradeResult | None = gateway.pay_barcode(request)
    except ChannelRejected:
        finish_order(new_uow(), order.order_no, OrderStatus.FAILED, clock)
        raise
    except ChannelUnavailable as exc:
        log.warning("barcode payment %s: answer lost (%s), querying", order.order_no, exc.detail)
        result = None
    if result is None or result.state not in FINISHED:
        result = _settle(gateway, order.order_no, polling or BarcodePolling())
    outcome = apply_trade(new_uow(), result, clock=clock) if result else "paying"
    with new_uow() as uow:
        stored = uow.orders.by_no(order.order_no)
    assert stored is not None
    return BarcodeOutcome(order.order_no, channel.value, stored.status, order.amount_fen, outcome)


def _check_unit(uow: UnitOfWork, payment_code: str, unit_id: int) -> None:
    with uow:
        payable = uow.payables.by_code(payment_code)
    if payable is None or payable.unit_id != unit_id:
        raise NotFound(f"缴款码 {payment_code} 不存在")


def _settle(gateway: ChannelGateway, order_no: str, polling: BarcodePolling) -> TradeResult | None:
    """Query until finished, else cancel. None when the channel cannot be reached at all."""
    last: TradeState | None = None
    for _ in range(polling.polls):
        polling.sleep(polling.interval_s)
        try:
            result = gateway.query(order_no)
        except ChannelUnavailable:
            continue
        if result.state in FINISHED:
            return result
        last = result.state
    try:
        cancelled = gateway.cancel(order_no)
    except ChannelRejected as exc:
        if last is TradeState.NOT_FOUND:  # the channel never saw it (UnionPay cannot 撤销 it)
            return TradeResult(order_no, TradeState.CLOSED)
        log.warning("barcode payment %s: cancel refused (%s); recovery retries", order_no, exc)
        return None
    except ChannelUnavailable as exc:
        log.warning("barcode payment %s: cancel failed (%s); recovery retries", order_no, exc)
        return None
    if cancelled.state is TradeState.SUCCEEDED:  # the cancel found it paid and could not undo it
        return cancelled
    return TradeResult(order_no, TradeState.CLOSED, amount_fen=cancelled.amount_fen)
