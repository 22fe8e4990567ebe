"""No order stays "paying": query open orders (missing notifications) and close expired ones.

Workflow: calls a channel between transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import OrderMethod, OrderStatus
from publicpay.services.payments.orders import apply_trade
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.recovery")  # its name before the reorganisation


def recover_open_orders(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    *,
    clock: Clock,
    older_than_s: int,
    limit: int = 100,
) -> int:
    """Returns how many orders reached a terminal state."""
    with new_uow() as uow:
        order_nos = uow.orders.open_created_before(
            clock.now() - timedelta(seconds=older_than_s), limit
        )
    settled = 0
    for order_no in order_nos:
        try:
            settled += recover_order(new_uow, gateways, order_no, clock=clock)
        except (ChannelUnavailable, ChannelRejected) as exc:
            log.warning("recovery of %s postponed: %s", order_no, exc.detail)
    return settled


def recover_order(
    new_uow: Callable[[], UnitOfWork], gateways: Gateways, order_no: str, *, clock: Clock
) -> int:
    with new_uow() as uow:
        order = uow.orders.by_no(order_no)
    if order is None or order.status is not OrderStatus.PAYING:
        return 0
    if order.channel in (Channel.CASH.value, Channel.COUNTER.value, Channel.CARD.value):
        return 0  # no channel gateway: a card order is settled by `card.settle_open_card_orders`
    gateway = gateways.for_account(Channel(order.channel), order.channel_account_id)
    result = gateway.query(order_no)
    if result.state in (TradeState.SUCCEEDED, TradeState.CLOSED, TradeState.FAILED):
        apply_trade(new_uow(), result, clock=clock)
        return 1
    if order.expires_at > clock.now():
        return 0
    if order.method is OrderMethod.BARCODE and result.state is not TradeState.NOT_FOUND:
        final = gateway.cancel(order_no)  # 撤销: also reverses a payment that slipped through
        state = TradeState.CLOSED if final.state is not TradeState.SUCCEEDED else final.state
    else:
        _close_quietly(gateway.close, order_no)
        state = TradeState.CLOSED
    apply_trade(new_uow(), TradeResult(order_no, state, amount_fen=result.amount_fen), clock=clock)
    return 1


def _close_quietly(close: Callable[[str], None], order_no: str) -> None:
    try:
        close(order_no)
    except ChannelRejected as exc:  # e.g. the channel never saw the order (never scanned)
        log.info("close %s: %s", order_no, exc.detail)
