"""Bank-card payments at a window's POS terminal (银行卡, card present) through the acquirer.

An order (channel `card`, method `card`) is reserved at the terminal's window in its open shift;
the sale starts on the terminal (the payer taps, inserts or swipes the card and enters the PIN)
and the host's word goes through `orders.apply_trade_in` like any channel's, with the card's
facts (RRN, authorisation code, voucher and batch numbers, masked card number, terminal and
merchant ids) stored in the inbox in the same transaction (channel `card`, key: our order no).

Never charged twice:
- a lost answer (timeout, 5xx, an answer whose signature fails) is followed by queries, never by
  a second sale; if the outcome is still unknown the order stays paying, and the next attempt
  for the payable queries it first: a new sale starts only once the host has declined it or
  says it never saw it;
- a sale approved for a payable that another order paid meanwhile is voided at once (撤销, the
  same day), and so is one whose amount is not the order's.

Workflow: calls the acquirer's terminal host between transactions.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from publicpay.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    Conflict,
    NotFound,
    ValidationFailed,
)
from publicpay.domain.payables import PayableStatus
from publicpay.domain.payments.cards import CardResult, CardSaleRequest, CardState
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.services.payments.in_person import InPersonUnitOfWork
from publicpay.services.payments.orders import (
    PaymentPolicy,
    apply_trade_in,
    finish_order,
    reserve_order,
)
from publicpay.services.payments.ports import CardHost
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.card")

CARD = Channel.CARD.value
FINAL = frozenset({CardState.APPROVED, CardState.DECLINED, CardState.VOIDED, CardState.NOT_FOUND})


class CardOutcomeUnknown(Conflict):
    code = "card_outcome_unknown"
    title = "银行卡交易结果未知"


@dataclass(frozen=True, slots=True)
class CardPolling:
    queries: int = 3  # after a lost answer…
    interval_s: float = 2.0  # …this far apart; then the order stays paying
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True)
class CardOutcome:
    order_no: str
    status: OrderStatus  # SUCCEEDED, or PAYING when the host's word is still unknown
    amount_fen: int
    facts: dict[str, str]  # RRN, auth code, masked card … (approved sales)


def pay_by_card(
    new_uow: Callable[[], InPersonUnitOfWork],
    host: CardHost | None,
    payment_code: str,
    *,
    terminal_id: str | None,
    source: str,
    unit_id: int | None,
    clock: Clock,
    policy: PaymentPolicy,
    polling: CardPolling | None = None,
) -> CardOutcome:
    """Take the payment by card on the terminal `terminal_id` (TID) of the device `source`."""
    if host is None or not terminal_id:
        raise ValidationFailed("该终端未开通银行卡收款，请用扫码或现金收款")
    polling = polling or CardPolling()
    payable_id = _payable_id(new_uow(), payment_code, unit_id)
    if settle_open_card_orders(new_uow, host, payable_id, clock=clock, polling=polling):
        raise CardOutcomeUnknown(
            "上一笔银行卡交易的结果尚未确认（收单机构暂无应答），请稍后点“查询结果”，不要重复刷卡"
        )
    order, _ = reserve_order(
        new_uow(), payment_code, Channel.CARD, OrderMethod.CARD, clock, policy, source=source
    )
    request = CardSaleRequest(terminal_id, order.order_no, order.amount_fen)
    try:
        result: CardResult | None = host.sale(request)
    except ChannelRejected:
        finish_order(new_uow(), order.order_no, OrderStatus.FAILED, clock)
        raise
    except ChannelUnavailable as exc:
        log.warning("card sale %s: answer lost (%s), querying", order.order_no, exc.detail)
        result = _query(host, terminal_id, order.order_no, polling)
    return _conclude(new_uow, host, order, terminal_id, result, clock)


def settle_open_card_orders(
    new_uow: Callable[[], InPersonUnitOfWork],
    host: CardHost,
    payable_id: int,
    *,
    clock: Clock,
    polling: CardPolling | None = None,
) -> int:
    """Query the payable's card orders still paying and apply the host's word; returns how many
    are still unknown. An approved one pays the payable (then no new sale can start)."""
    with new_uow() as uow:
        open_orders = [
            (o, _terminal_of(uow, o))
            for o in uow.orders.for_payable(payable_id)
            if o.channel == CARD and o.status is OrderStatus.PAYING
        ]
    unknown = 0
    for order, tid in open_orders:
        result = _query(host, tid, order.order_no, polling or CardPolling(queries=1, interval_s=0))
        try:
            outcome = _conclude(new_uow, host, order, tid, result, clock)
        except (ChannelRejected, Conflict):
            continue  # declined or voided: settled
        unknown += outcome.status is OrderStatus.PAYING
    return unknown


def recover_card_order(
    new_uow: Callable[[], InPersonUnitOfWork],
    host: CardHost | None,
    order_no: str,
    *,
    clock: Clock,
) -> bool:
    """补单 from reconciliation: the acquirer settled a card sale whose answer never reached
    the platform (the order still paying). The host is asked once, and its word is applied as at
    the window (approved: booked; for a payable paid meanwhile: voided). True when the order
    is paid now."""
    with new_uow() as uow:
        order = uow.orders.by_no(order_no)
        tid = _terminal_of(uow, order) if order is not None else ""
    if order is None or order.channel != CARD:
        return False
    if order.status is not OrderStatus.PAYING:
        return order.status is OrderStatus.SUCCEEDED
    if host is None:
        raise ValidationFailed("未配置收单机构，不能查询银行卡交易")
    result = _query(host, tid, order.order_no, CardPolling(queries=1, interval_s=0))
    try:
        outcome = _conclude(new_uow, host, order, tid, result, clock)
    except (ChannelRejected, Conflict) as exc:
        log.warning("card sale %s: not recovered (%s)", order_no, exc.detail)
        return False
    return outcome.status is OrderStatus.SUCCEEDED


def _terminal_of(uow: UnitOfWork, order: Order) -> str:
    device = uow.devices.get(order.device_id) if order.device_id is not None else None
    return (device.card_terminal_id if device else None) or ""


def _payable_id(uow: InPersonUnitOfWork, payment_code: str, unit_id: int | None) -> int:
    with uow:
        payable = uow.payables.by_code(payment_code)
    if payable is None or (unit_id is not None and payable.unit_id != unit_id):
        raise NotFound(f"缴款码 {payment_code} 不存在")
    return payable.id


def _query(host: CardHost, tid: str, order_no: str, polling: CardPolling) -> CardResult | None:
    for attempt in range(polling.queries):
        if attempt or polling.interval_s:
            polling.sleep(polling.interval_s)
        try:
            result = host.query(tid, order_no)
        except (ChannelUnavailable, ChannelRejected) as exc:
            log.warning("card sale %s: query failed (%s)", order_no, exc.detail)
            continue
        if result.state in FINAL:
            return result
    return None


def _conclude(
    new_uow: Callable[[], InPersonUnitOfWork],
    host: CardHost,
    order: Order,
    tid: str,
    result: CardResult | None,
    clock: Clock,
) -> CardOutcome:
    if result is None:  # still unknown: the order stays paying, the next attempt queries first
        return CardOutcome(order.order_no, OrderStatus.PAYING, order.amount_fen, {})
    if result.state is not CardState.APPROVED:
        finish_order(new_uow(), order.order_no, OrderStatus.FAILED, clock)
        raise ChannelRejected(_declined(result), channel_code=result.resp_code)
    if result.amount_fen != order.amount_fen or _paid_elsewhere(new_uow(), order):
        _void(host, tid, order, clock, new_uow)
        raise Conflict("该缴款单已缴清或金额不符，本次银行卡交易已当场撤销，款项不会扣收")
    return _record(new_uow(), order, result, clock)


def _declined(result: CardResult) -> str:
    if result.state is CardState.NOT_FOUND:
        return "收单机构没有这笔交易（未扣款），可以重新刷卡"
    if result.state is CardState.VOIDED:
        return "这笔银行卡交易已撤销（未扣款）"
    return f"银行卡交易未成功：{result.message or '交易失败'}（{result.resp_code}），未扣款"


def _paid_elsewhere(uow: InPersonUnitOfWork, order: Order) -> bool:
    """The payable was paid meanwhile by another order (not this one: a query may have
    recorded this sale already), or is gone."""
    with uow:
        payable = uow.payables.by_id(order.payable_id)
    if payable is None:
        return True
    return payable.status is not PayableStatus.UNPAID and payable.paid_order_id != order.id


def _void(
    host: CardHost,
    tid: str,
    order: Order,
    clock: Clock,
    new_uow: Callable[[], InPersonUnitOfWork],
) -> None:
    try:
        host.void(tid, order.order_no, f"V{order.order_no[-20:]}{secrets.token_hex(2)}")
    except (ChannelUnavailable, ChannelRejected) as exc:
        log.error("card sale %s: void failed (%s); the payment is booked", order.order_no, exc)
        return  # the money was taken: book it (a duplicate is refunded by finance)
    finish_order(new_uow(), order.order_no, OrderStatus.CLOSED, clock)


def _record(uow: InPersonUnitOfWork, order: Order, result: CardResult, clock: Clock) -> CardOutcome:
    paid_at = result.paid_at.astimezone(UTC) if result.paid_at else clock.now()
    trade = TradeResult(order.order_no, TradeState.SUCCEEDED, amount_fen=result.amount_fen,
                        channel_trade_no=result.rrn, paid_at=paid_at)  # fmt: skip
    facts = result.facts()
    with uow:
        stored = uow.inbox.add(CARD, order.order_no, order.order_no, json.dumps(facts), clock.now())
        outcome = apply_trade_in(uow, trade, clock=clock)
        if stored:
            uow.inbox.mark(CARD, order.order_no, outcome.value, clock.now())
        uow.commit()
    return CardOutcome(order.order_no, OrderStatus.SUCCEEDED, order.amount_fen, facts)


def card_facts(uow: InPersonUnitOfWork, order_no: str) -> dict[str, str]:
    """The card facts of an approved sale ({} for none)."""
    with uow:
        stored = uow.inbox.request(CARD, order_no)
    if stored is None:
        return {}
    facts = json.loads(stored[1])
    return {str(k): str(v) for k, v in facts.items()} if isinstance(facts, dict) else {}
