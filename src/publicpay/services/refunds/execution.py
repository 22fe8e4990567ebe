"""Refund execution through the original channel (automatic duplicate refunds for now).

Workflow: calls a channel between transactions. `apply_refund_notification` (a channel's word on
a refund, applied in one transaction) shares its `_apply` and stays here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.events import DomainEvent
from publicpay.domain.payments.channels import (
    Channel,
    Notification,
    RefundRequest,
    RefundResult,
    RefundState,
)
from publicpay.domain.payments.orders import Order, Outcome
from publicpay.domain.refunds import Refund, RefundKind, RefundStatus
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.refunds.requests import lock_refund_payable, settle_requested_refund
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.refunds")  # its name before the reorganisation
LEASE = timedelta(seconds=120)
# paid back by bank transfer (a card payment too: the acquirer's 退货 is not wired)
OFFLINE_CHANNELS = frozenset({Channel.COUNTER.value, Channel.CASH.value, Channel.CARD.value})


def run_due_refunds(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    *,
    clock: Clock,
    limit: int = 20,
    notify_url: Callable[[str, int | None], str] | None = None,
) -> int:
    """Send due refunds; one the channel is still processing is queried, not sent again."""
    with new_uow() as uow:
        claimed = uow.refunds.claim_due(clock.now(), limit, LEASE)
        uow.commit()
    done = 0
    for refund in claimed:
        with new_uow() as uow:
            order = uow.orders.by_id(refund.order_id)
            assert order is not None
            trade_no, trade_fen = _channel_trade(uow, order)
        request = RefundRequest(
            trade_no,
            refund.refund_no,
            refund.amount_fen,
            trade_fen,
            refund.reason,
            notify_url(refund.channel, order.channel_account_id) if notify_url else "",
        )
        if refund.channel in OFFLINE_CHANNELS:
            _hand_over(new_uow(), refund.refund_no, refund.channel, clock)
            continue
        gateway = gateways.for_account(Channel(refund.channel), order.channel_account_id)
        try:
            if refund.status is RefundStatus.PROCESSING:
                result = gateway.query_refund(trade_no, refund.refund_no)
            else:
                result = gateway.refund(request)
        except ChannelUnavailable as exc:
            _retry_later(new_uow(), refund.refund_no, refund.attempts, clock, str(exc.detail))
            continue
        except ChannelRejected as exc:
            _fail(new_uow(), refund.refund_no, clock, exc.channel_code or exc.detail)
            continue
        done += _apply(new_uow(), refund.refund_no, result, refund.attempts, clock)
    return done


def _channel_trade(uow: UnitOfWork, order: Order) -> tuple[str, int]:
    """The order number and total the channel knows the payment by: a payable paid in a cart
    is refunded against the cart's order (its number, its total), for its own amount."""
    cart = uow.carts.by_id(order.cart_id) if order.cart_id is not None else None
    return (cart.cart_no, cart.amount_fen) if cart else (order.order_no, order.amount_fen)


def apply_refund_notification(uow: UnitOfWork, note: Notification, *, clock: Clock) -> Outcome:
    """A verified refund notification for one of our refunds: record its final state."""
    if note.refund_no is None or not isinstance(note.state, RefundState):
        return Outcome.STORED
    with uow:
        refund = uow.refunds.by_no(note.refund_no)
    if refund is None or refund.amount_fen != note.amount_fen:
        log.warning("refund notification %s does not match a refund of ours", note.notify_id)
        return Outcome.STORED
    result = RefundResult(note.refund_no, note.state, note.amount_fen)
    applied = _apply(uow, note.refund_no, result, 0, clock)
    return Outcome.REFUND_APPLIED if applied else Outcome.STORED


def _apply(
    uow: UnitOfWork, refund_no: str, result: RefundResult, attempts: int, clock: Clock
) -> int:
    now = clock.now()
    with uow:
        lock_refund_payable(uow, refund_no)
        refund = uow.refunds.by_no(refund_no, lock=True)
        if refund is None or refund.status is RefundStatus.SUCCEEDED:
            return 0
        if result.state is RefundState.PROCESSING:
            refund.postpone(until=now + _backoff(attempts), processing=True)
        elif result.state is RefundState.FAILED:
            uow.collect(refund.mark_failed(str(result.raw), at=now))
        else:
            uow.collect(refund.mark_succeeded(result.channel_refund_no, at=now))
            if refund.kind is RefundKind.REQUESTED:
                settle_requested_refund(uow, refund, now)
        uow.refunds.save(refund)
        uow.commit()
        return 1 if result.state is RefundState.SUCCEEDED else 0


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2**attempts, 3600))


def _hand_over(uow: UnitOfWork, refund_no: str, channel: str, clock: Clock) -> None:
    """Counter and cash payments have no channel API to refund through: finance returns the
    money by bank transfer or at the window, and records it (status `manual` until then)."""
    log.warning("refund %s (%s) needs a manual bank transfer or cash return", refund_no, channel)
    _change(uow, refund_no, lambda refund, now: refund.hand_over(at=now), clock)


def _retry_later(uow: UnitOfWork, refund_no: str, attempts: int, clock: Clock, why: str) -> None:
    log.warning("refund %s postponed: %s", refund_no, why)

    def postpone(refund: Refund, now: datetime) -> list[DomainEvent]:
        refund.postpone(until=now + _backoff(attempts))
        return []

    _change(uow, refund_no, postpone, clock)


def _fail(uow: UnitOfWork, refund_no: str, clock: Clock, why: str) -> None:
    log.error("refund %s refused by the channel: %s", refund_no, why)
    _change(uow, refund_no, lambda refund, now: refund.mark_failed(why, at=now), clock)


def _change(
    uow: UnitOfWork,
    refund_no: str,
    change: Callable[[Refund, datetime], list[DomainEvent]],
    clock: Clock,
) -> None:
    with uow:
        refund = uow.refunds.by_no(refund_no, lock=True)
        assert refund is not None
        uow.collect(change(refund, clock.now()))
        uow.refunds.save(refund)
        uow.commit()
