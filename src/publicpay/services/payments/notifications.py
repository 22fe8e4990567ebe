"""Channel notifications in: verify, store in the inbox, apply, acknowledge.

A notification is stored before it is acknowledged, so nothing the channel told us is lost;
applying it is idempotent (unique notify id, order state checks). A payment notification is
applied and stored with its outcome in one transaction; when applying fails, it is stored alone
(its own short transaction) and the failure propagates, so the channel retries and the inbox
keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from publicpay.domain.errors import InvalidNotification
from publicpay.domain.events import DiscrepancyKind
from publicpay.domain.payments.carts import is_cart_no
from publicpay.domain.payments.channels import (
    Channel,
    Notification,
    NotificationAck,
    NotificationKind,
    TradeResult,
    TradeState,
)
from publicpay.domain.payments.orders import Outcome
from publicpay.services.payments.carts import apply_cart_trade_in
from publicpay.services.payments.orders import apply_trade_in
from publicpay.services.payments.ports import ChannelGateway, Gateways
from publicpay.services.ports import Clock
from publicpay.services.refunds.execution import apply_refund_notification
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.notifications")  # its name before the reorganisation

ACCEPTED_OUTCOMES = frozenset(o.value for o in Outcome if o.accepted)


def handle_notification(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    channel: Channel,
    headers: Mapping[str, str],
    body: bytes,
    *,
    clock: Clock,
    account_id: int | None = None,
) -> NotificationAck:
    """`account_id` comes from the notify URL: the keys of that merchant account verify it."""
    gateway = gateways.for_account(channel, account_id)
    try:
        note = gateway.parse_notification(headers, body)
    except InvalidNotification as exc:
        log.warning("refused %s notification: %s", channel.value, exc.detail)
        return gateway.ack(False)
    if note.kind is NotificationKind.PAYMENT:
        return _ack(gateway, note, _apply_payment(new_uow, note, body, clock))
    if not _store(new_uow(), note, body, clock):
        outcome = _stored_outcome(new_uow(), note)
        if outcome in ACCEPTED_OUTCOMES:
            return gateway.ack(True)
    _mark(new_uow(), note, apply_refund_notification(new_uow(), note, clock=clock), clock)
    return gateway.ack(True)


def _ack(gateway: ChannelGateway, note: Notification, outcome: Outcome) -> NotificationAck:
    if not outcome.accepted:
        log.warning("%s notification %s: %s", note.channel.value, note.notify_id, outcome)
    return gateway.ack(outcome.accepted)


def _apply_payment(
    new_uow: Callable[[], UnitOfWork], note: Notification, body: bytes, clock: Clock
) -> Outcome:
    """Apply and store with its outcome in one transaction. Applying is idempotent (order state
    checks under the payable and order locks), so a notification delivered again is applied
    again harmlessly; its first accepted outcome stays on record."""
    try:
        with new_uow() as uow:
            trade = _as_trade(note)
            apply = apply_cart_trade_in if is_cart_no(note.order_no) else apply_trade_in
            outcome = apply(uow, trade, clock=clock)
            if outcome is Outcome.UNKNOWN_ORDER:
                _add_unknown(uow, note, clock)
            uow.inbox.record(
                note.channel.value,
                note.notify_id,
                note.order_no,
                body.decode("utf-8", "replace"),
                outcome.value,
                clock.now(),
                final=ACCEPTED_OUTCOMES,
            )
            uow.commit()
            return outcome
    except Exception:
        _store(new_uow(), note, body, clock)  # keep what the channel told us, then fail
        raise


def _as_trade(note: Notification) -> TradeResult:
    state = note.state if isinstance(note.state, TradeState) else TradeState.PENDING
    return TradeResult(
        order_no=note.order_no,
        state=state,
        amount_fen=note.amount_fen,
        channel_trade_no=note.channel_trade_no,
        paid_at=note.paid_at,
        raw=note.raw,
    )


def _store(uow: UnitOfWork, note: Notification, body: bytes, clock: Clock) -> bool:
    with uow:
        stored = _add(uow, note, body, clock)
        uow.commit()
        return stored


def _add(uow: UnitOfWork, note: Notification, body: bytes, clock: Clock) -> bool:
    return uow.inbox.add(
        note.channel.value,
        note.notify_id,
        note.order_no,
        body.decode("utf-8", "replace"),
        clock.now(),
    )


def _stored_outcome(uow: UnitOfWork, note: Notification) -> str | None:
    with uow:
        return uow.inbox.outcome(note.channel.value, note.notify_id)


def _mark(uow: UnitOfWork, note: Notification, outcome: Outcome, clock: Clock) -> None:
    with uow:
        uow.inbox.mark(note.channel.value, note.notify_id, outcome.value, clock.now())
        uow.commit()


def _add_unknown(uow: UnitOfWork, note: Notification, clock: Clock) -> None:
    uow.discrepancies.add(
        DiscrepancyKind.UNKNOWN_ORDER,
        note.channel.value,
        note.order_no,
        None,
        note.amount_fen,
        {"notify_id": note.notify_id},
        clock.now(),
    )
