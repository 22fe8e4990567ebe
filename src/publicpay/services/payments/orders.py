"""Payment orders: reserve one, finish it, apply what the channel says happened, each in one
transaction (opening an order at a channel is the workflow in `checkout`).

`apply_trade` is the one place where money moves on payment: it locks payable then order
(the project's lock order), and in one transaction marks them paid, posts the ledger journal,
writes the webhook event and the audit row. A second success for a paid payable is booked as
owed back and refunded automatically; a success for an order we had closed is recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.events import DiscrepancyKind, EventType
from publicpay.domain.ledger import duplicate_payment_journal, payment_journal
from publicpay.domain.payables import (
    Payable,
    PayableStatus,
    amount_due_fen,
    payment_shares,
    status_label,
)
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import (
    Order,
    OrderMethod,
    OrderStatus,
    check_open_orders,
    check_transition,
)
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.receipts.issuing import request_receipt
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    order_timeout_s: int
    notify_url: Callable[[str], str]  # channel -> our notify URL (platform default account)
    max_open_orders: int = 5  # unpaid QR orders of one payable at once

    def notify_url_for(self, channel: str, account_id: int | None) -> str:
        """Notifications name the merchant account in the path, so the right keys verify them."""
        base = self.notify_url(channel)
        return base if account_id is None else f"{base}/{account_id}"


def new_order_no(now: datetime) -> str:
    """32 chars max for every channel: 'P' + yymmddHHMMSS (Shanghai) + 12 hex chars."""
    return "P" + now.astimezone(SHANGHAI).strftime("%y%m%d%H%M%S") + secrets.token_hex(6)


def reserve_order(
    uow: UnitOfWork,
    payment_code: str,
    channel: Channel,
    method: OrderMethod,
    clock: Clock,
    policy: PaymentPolicy,
    *,
    gateways: Gateways | None = None,
) -> tuple[Order, str]:
    """Open an order for the amount due today. With `gateways`, the order records which
    merchant account (unit's, region's or platform's) it goes through."""
    with uow:
        payable = uow.payables.by_code(payment_code, lock=True)
        if payable is None:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status is not PayableStatus.UNPAID:
            raise ValidationFailed(f"缴款单状态为「{status_label(payable.status)}」，不能再支付")
        now = clock.now()
        if method is OrderMethod.QR:
            check_open_orders(uow.orders.for_payable(payable.id), now, policy.max_open_orders)
        amount = amount_due_fen(
            payable.lines, uow.catalogue.items(), payable.due_date, business_date(now)
        )
        order = Order(
            id=0,
            order_no=new_order_no(now),
            payable_id=payable.id,
            channel=channel.value,
            method=method,
            amount_fen=amount,
            status=OrderStatus.PAYING,
            qr_code=None,
            channel_trade_no=None,
            created_at=now,
            expires_at=now + timedelta(seconds=policy.order_timeout_s),
            channel_account_id=gateways.for_unit(channel, payable.unit_id)[0] if gateways else None,
        )
        uow.orders.add(order)
        uow.commit()
        return order, _subject(payable)


def _subject(payable: Payable) -> str:
    names = "、".join(dict.fromkeys(line.item_name for line in payable.lines))
    return f"非税缴款-{names}"[:120]


def finish_order(uow: UnitOfWork, order_no: str, status: OrderStatus, clock: Clock) -> None:
    with uow:
        order = uow.orders.by_no(order_no, lock=True)
        if order is not None and order.status is OrderStatus.PAYING:
            order.status = status
            uow.orders.save(order, closed_at=clock.now())
            uow.commit()


def apply_trade(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> str:
    """Apply the channel's word on one of our orders. Returns an outcome code (for the inbox)."""
    with uow:
        outcome = apply_trade_in(uow, result, clock=clock)
        if outcome != "unknown_order":
            uow.commit()
        return outcome


def apply_trade_in(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> str:
    """`apply_trade` inside the caller's transaction (the caller commits)."""
    found = uow.orders.locked_with_payable(result.order_no)  # locks payable → order
    if found is None:
        return "unknown_order"
    payable, order = found
    if result.state is TradeState.SUCCEEDED:
        return _apply_success(uow, payable, order, result, clock)
    if result.state in (TradeState.CLOSED, TradeState.FAILED, TradeState.NOT_FOUND):
        return _apply_closed(uow, order, result, clock)
    return "pending"


def _apply_closed(uow: UnitOfWork, order: Order, result: TradeResult, clock: Clock) -> str:
    if order.status is not OrderStatus.PAYING:
        return "unchanged"
    order.status = OrderStatus.FAILED if result.state is TradeState.FAILED else OrderStatus.CLOSED
    uow.orders.save(order, closed_at=clock.now())
    return "closed"


def _apply_success(
    uow: UnitOfWork, payable: Payable, order: Order, result: TradeResult, clock: Clock
) -> str:
    now = clock.now()
    if order.status is OrderStatus.SUCCEEDED:
        return "already_applied"
    if result.amount_fen != order.amount_fen:
        uow.discrepancies.add(
            DiscrepancyKind.AMOUNT_MISMATCH.value,
            order.channel,
            order.order_no,
            payable.id,
            result.amount_fen,
            {"expected_fen": order.amount_fen, "reported_fen": result.amount_fen},
            now,
        )
        if order.status is OrderStatus.PAYING:  # terminal: the discrepancy is resolved by hand
            order.status = OrderStatus.FAILED
            uow.orders.save(order, closed_at=now)
        return "amount_mismatch"
    if order.status is not OrderStatus.PAYING:
        uow.discrepancies.add(
            DiscrepancyKind.LATE_SUCCESS.value,
            order.channel,
            order.order_no,
            payable.id,
            order.amount_fen,
            {"order_status": order.status.value, "recovered": True},
            now,
        )
    check_transition(order.status, OrderStatus.SUCCEEDED)
    order.status = OrderStatus.SUCCEEDED
    order.channel_trade_no = result.channel_trade_no
    order.paid_at = result.paid_at or now
    uow.orders.save(order)
    if payable.status is PayableStatus.UNPAID:
        _mark_paid(uow, payable, order, now)
        return "paid"
    _book_duplicate(uow, payable, order, now)
    return "duplicate_refunding"


def _mark_paid(uow: UnitOfWork, payable: Payable, order: Order, now: datetime) -> None:
    payable.status = PayableStatus.PAID
    payable.paid_at = order.paid_at
    payable.paid_fen = order.amount_fen
    payable.paid_order_id = order.id
    payable.channel = order.channel
    uow.payables.save(payable)
    shares = payment_shares(payable.lines, uow.catalogue.items(), order.amount_fen)
    uow.ledger.post(
        payment_journal(order.order_no, order.channel, shares),
        payable_id=payable.id,
        business_date=business_date(now),
        at=now,
    )
    uow.events.add(
        payable.unit_id,
        EventType.PAYABLE_PAID.value,
        paid_event_data(payable, order),
        now,
        deliver=True,
    )
    request_receipt(uow, payable, order.order_no, now)
    uow.audit.append(
        f"channel:{order.channel}",
        "payable.paid",
        payable.payment_code,
        {"order_no": order.order_no, "amount_fen": order.amount_fen},
        now,
    )


def paid_event_data(payable: Payable, order: Order) -> dict[str, object]:
    return {
        "payment_code": payable.payment_code,
        "biz_no": payable.biz_no,
        "status": payable.status.value,
        "amount_fen": payable.amount_fen,
        "paid_fen": order.amount_fen,
        "channel": order.channel,
        "order_no": order.order_no,
        "channel_trade_no": order.channel_trade_no,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
    }


def _book_duplicate(uow: UnitOfWork, payable: Payable, order: Order, now: datetime) -> None:
    """重复支付: the payable was already settled; owe the money back and refund it."""
    kind = (
        DiscrepancyKind.DUPLICATE_PAYMENT
        if payable.status is not PayableStatus.CANCELLED
        and payable.status is not PayableStatus.EXPIRED
        else DiscrepancyKind.PAYMENT_FOR_CLOSED_PAYABLE
    )
    uow.ledger.post(
        duplicate_payment_journal(order.order_no, order.channel, order.amount_fen),
        payable_id=payable.id,
        business_date=business_date(now),
        at=now,
    )
    refund_no = "R" + order.order_no[1:]
    uow.refunds.add(
        refund_no,
        payable.id,
        order.id,
        order.channel,
        order.amount_fen,
        "重复支付自动退款",
        "duplicate",
        now,
    )
    uow.discrepancies.add(
        kind.value,
        order.channel,
        order.order_no,
        payable.id,
        order.amount_fen,
        {"payable_status": payable.status.value, "refund_no": refund_no},
        now,
    )
    uow.audit.append(
        f"channel:{order.channel}",
        "payment.duplicate",
        payable.payment_code,
        {"order_no": order.order_no, "refund_no": refund_no, "amount_fen": order.amount_fen},
        now,
    )
