"""Payment orders: reserve one, finish it, apply what the channel says happened, each in one
transaction (opening an order at a channel is the workflow in `checkout`).

`apply_trade` is the one place where money moves on payment: it locks payable then order
(the project's lock order) and lets them decide (`order.mark_succeeded`, `payable.mark_paid`);
the unit of work records what their events mean (ledger journal, webhook event, receipt job,
audit row) in the same transaction. A second success for a paid payable is owed back and
refunded automatically; a success for an order we had closed is recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payables import (
    Payable,
    PayableStatus,
    amount_due_fen,
    payment_shares,
    status_label,
)
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import (
    PAYER_METHODS,
    Order,
    OrderMethod,
    OrderStatus,
    Outcome,
    check_open_orders,
    is_open,
)
from publicpay.domain.shifts import ShiftRequired
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
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
    source: str | None = None,
    reuse_open: bool | Callable[[Order], bool] = False,
) -> tuple[Order, str]:
    """Open an order for the amount due today. With `gateways`, the order records which
    merchant account (unit's, region's or platform's) it goes through; with `source` (a
    device's app id), where it was taken (site, window, shift). With `reuse_open` (a wallet
    button), an order of the same channel and method still open for the same amount is
    returned instead of a new one: a second tap never opens a second order to charge
    (`reuse_open` may also be a test the order must pass, e.g. "opened for this payer")."""
    with uow:
        payable = uow.payables.by_code(payment_code, lock=True)
        if payable is None:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status is not PayableStatus.UNPAID:
            raise ValidationFailed(f"缴款单状态为「{status_label(payable.status)}」，不能再支付")
        now = clock.now()
        amount = amount_due_fen(
            payable.lines, uow.catalogue.items(), payable.due_date, business_date(now)
        )
        if method in PAYER_METHODS:
            existing = uow.orders.for_payable(payable.id)
            same = _still_open(existing, channel, method, amount, now) if reuse_open else None
            if same is not None and callable(reuse_open) and not reuse_open(same):
                same = None  # open for someone else (a WeChat JSAPI order of another payer)
            if same is not None:
                return same, _subject(payable)
            check_open_orders(existing, now, policy.max_open_orders)
        place = taken_at(uow, source) if source else TakenAt()
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
            site_id=place.site_id,
            window_id=place.window_id,
            device_id=place.device_id,
            shift_id=place.shift_id,
        )
        uow.orders.add(order)
        uow.commit()
        return order, _subject(payable)


def _still_open(
    orders: list[Order], channel: Channel, method: OrderMethod, amount: int, now: datetime
) -> Order | None:
    """An order of this channel and method the payer can still pay (margin: one minute)."""
    margin = timedelta(seconds=60)
    for order in orders:
        if (
            is_open(order.status)
            and order.channel == channel.value
            and order.method is method
            and order.amount_fen == amount
            and order.expires_at > now + margin
            and order.qr_code
        ):
            return order
    return None


class TakenAt(NamedTuple):
    site_id: int | None = None
    window_id: int | None = None
    device_id: int | None = None
    shift_id: int | None = None


def taken_at(uow: UnitOfWork, source: str) -> TakenAt:
    """Where a device's payment is taken: its site and window, and the window's open shift
    (a payment at a window needs one: ShiftRequired). A bank or an unregistered device: none."""
    device = uow.devices.by_app_id(source)
    if device is None:
        return TakenAt()
    shift_id = None
    if device.window_id is not None:
        shift = uow.shifts.open_at_window(device.window_id)
        if shift is None:
            raise ShiftRequired("该窗口尚未开班，请收费员先开班再收款")
        shift_id = shift.id
    return TakenAt(device.site_id, device.window_id, device.id, shift_id)


def _subject(payable: Payable) -> str:
    names = "、".join(dict.fromkeys(line.item_name for line in payable.lines))
    return f"非税缴款-{names}"[:120]


def finish_order(uow: UnitOfWork, order_no: str, status: OrderStatus, clock: Clock) -> None:
    """Close (or fail) an order still paying: the channel never took the money."""
    with uow:
        order = uow.orders.by_no(order_no, lock=True)
        if order is not None and order.status is OrderStatus.PAYING:
            order.close(at=clock.now(), failed=status is OrderStatus.FAILED)
            uow.orders.save(order)
            uow.commit()


def apply_trade(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> Outcome:
    """Apply the channel's word on one of our orders (kept with the notification, if any)."""
    with uow:
        outcome = apply_trade_in(uow, result, clock=clock)
        if outcome is not Outcome.UNKNOWN_ORDER:
            uow.commit()
        return outcome


def apply_trade_in(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> Outcome:
    """`apply_trade` inside the caller's transaction (the caller commits)."""
    found = uow.orders.locked_with_payable(result.order_no)  # locks payable → order
    if found is None:
        return Outcome.UNKNOWN_ORDER
    payable, order = found
    if result.state is TradeState.SUCCEEDED:
        return _apply_success(uow, payable, order, result, clock.now())
    if result.state in (TradeState.CLOSED, TradeState.FAILED, TradeState.NOT_FOUND):
        if order.status is not OrderStatus.PAYING:
            return Outcome.UNCHANGED
        order.close(at=clock.now(), failed=result.state is TradeState.FAILED)
        uow.orders.save(order)
        return Outcome.CLOSED
    return Outcome.PENDING


def _apply_success(
    uow: UnitOfWork, payable: Payable, order: Order, result: TradeResult, now: datetime
) -> Outcome:
    if order.status is OrderStatus.SUCCEEDED:
        return Outcome.ALREADY_APPLIED
    if result.amount_fen != order.amount_fen:
        uow.collect(order.refuse_amount(payable.id, result.amount_fen, at=now))
        uow.orders.save(order)
        return Outcome.AMOUNT_MISMATCH
    uow.collect(order.mark_succeeded(result.channel_trade_no, result.paid_at, at=now))
    uow.orders.save(order)
    if payable.status is PayableStatus.UNPAID:
        shares = payment_shares(payable.lines, uow.catalogue.items(), order.amount_fen)
        uow.collect(payable.mark_paid(order, shares, at=now))
        uow.payables.save(payable)
        return Outcome.PAID
    uow.collect(payable.take_duplicate(order, refund_no="R" + order.order_no[1:], at=now))
    return Outcome.DUPLICATE_REFUNDING
