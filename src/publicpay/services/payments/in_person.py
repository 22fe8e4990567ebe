"""Payments taken in person: at a bank counter (银行代收) or in cash at a window (现金).

The money is already in hand when we hear of it, so there is no channel to ask. Each request is
stored in the inbox (unique per source and serial: the bank's serial number, the POS device's
client serial) together with a new order, and the order is applied through
`orders.apply_trade_in` (the one place money moves on payment) — all in one transaction, under
the payable's lock. A second request for the same payable with another serial, even at the same
moment, waits for that lock, finds the payable paid and is refused before anything is booked.
A repeat with the same serial and the same body gets the same answer; with another body it is
refused (409).

Refusals (unknown code, payable not unpaid, wrong amount) happen before anything is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from publicpay.domain.codes import parse_payment_code
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.money import format_yuan
from publicpay.domain.payables import Payable, PayableStatus, amount_due_fen, status_label
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.domain.time import business_date
from publicpay.services.payments.orders import apply_trade_in, new_order_no, taken_at
from publicpay.services.payments.ports import RequestInbox
from publicpay.services.ports import Clock
from publicpay.services.recording.ports import JournalReader
from publicpay.services.unit_of_work import UnitOfWork

MAX_CLOCK_SKEW = timedelta(seconds=300)
MAX_PAID_AT_AGE = timedelta(hours=24)


class InPersonUnitOfWork(UnitOfWork, Protocol):
    """What in-person payments need beyond the common unit of work."""

    @property
    def inbox(self) -> RequestInbox: ...

    @property
    def ledger(self) -> JournalReader: ...


@dataclass(frozen=True, slots=True)
class InPersonRequest:
    channel: Channel  # COUNTER or CASH
    source: str  # the bank's or the device's app id
    serial: str  # the bank's serial number / the device's client serial
    payment_code: str
    amount_fen: int | None = None  # counter: must equal the amount due
    received_fen: int | None = None  # cash: at least the amount due
    paid_at: datetime | None = None  # when the money changed hands (default: now)
    detail: dict[str, str] = field(default_factory=dict)  # branch, teller, cashier...
    unit_id: int | None = None  # a device bound to a unit may only take its unit's payables

    @property
    def key(self) -> str:
        return f"{self.source}:{self.serial}"

    def body(self) -> str:
        """The stored request; the same serial must come with the same body."""
        data = {
            "source": self.source,
            "serial": self.serial,
            "payment_code": self.payment_code,
            "amount_fen": self.amount_fen,
            "received_fen": self.received_fen,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "detail": self.detail,
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Taken:
    order: Order
    payable: Payable
    duplicate: bool  # paid in a race after our check: booked as 重复缴款, refunded by finance
    replayed: bool


def take_payment(uow: InPersonUnitOfWork, req: InPersonRequest, *, clock: Clock) -> Taken:
    _check_request(req)
    with uow:
        # Lock first, then look: a concurrent twin stored before us is seen after its commit.
        payable = uow.payables.by_code(req.payment_code, lock=True)
        stored = uow.inbox.request(req.channel.value, req.key)
        if stored is None:
            order = _new_order(uow, payable, req, clock)
            if uow.inbox.add(req.channel.value, req.key, order.order_no, req.body(), clock.now()):
                _apply(uow, req, order, clock)
                uow.flush()  # the answer reads the payment back
                taken = _taken(uow, order.order_no, replayed=False)
                uow.commit()
                return taken
            uow.rollback()  # a concurrent request with the same serial won the race
    with uow:
        stored = uow.inbox.request(req.channel.value, req.key)
    assert stored is not None
    order_no = _replay(stored, req)
    finish(uow, req.channel, req.key, order_no, clock=clock)
    with uow:
        return _taken(uow, order_no, replayed=True)


def _apply(uow: InPersonUnitOfWork, req: InPersonRequest, order: Order, clock: Clock) -> None:
    result = TradeResult(
        order.order_no,
        TradeState.SUCCEEDED,
        amount_fen=order.amount_fen,
        channel_trade_no=order.channel_trade_no,
        paid_at=order.paid_at,
    )
    outcome = apply_trade_in(uow, result, clock=clock)
    uow.inbox.mark(req.channel.value, req.key, outcome.value, clock.now())


def _taken(uow: InPersonUnitOfWork, order_no: str, *, replayed: bool) -> Taken:
    order = uow.orders.by_no(order_no)
    assert order is not None
    payable = uow.payables.by_id(order.payable_id)
    assert payable is not None
    return Taken(order, payable, payable.paid_order_id != order.id, replayed)


def _check_request(req: InPersonRequest) -> None:
    parse_payment_code(req.payment_code)  # a mistyped code is caught by its check digit
    if req.paid_at is not None and req.paid_at.tzinfo is None:
        raise ValidationFailed("缴款时间须带时区", errors={"paid_at": "须带时区，如 +08:00"})


def _check_paid_at(req: InPersonRequest, now: datetime) -> None:
    """Only for new payments: a replay answers as before, however late it comes."""
    if req.paid_at is None:
        return
    if req.paid_at > now + MAX_CLOCK_SKEW or req.paid_at < now - MAX_PAID_AT_AGE:
        raise ValidationFailed(
            "缴款时间应在最近24小时内", errors={"paid_at": "不能晚于当前时间或早于24小时前"}
        )


def _replay(stored: tuple[str, str, str | None], req: InPersonRequest) -> str:
    order_no, body, _outcome = stored
    if body != req.body():
        raise Conflict(f"流水号 {req.serial} 已用于另一笔内容不同的缴款")
    return order_no


def _new_order(
    uow: InPersonUnitOfWork, payable: Payable | None, req: InPersonRequest, clock: Clock
) -> Order:
    if payable is None or (req.unit_id is not None and payable.unit_id != req.unit_id):
        raise NotFound(f"缴款码 {req.payment_code} 不存在")
    if payable.status is not PayableStatus.UNPAID:
        raise Conflict(f"缴款单{status_label(payable.status)}，不能缴款")
    now = clock.now()
    _check_paid_at(req, now)
    place = taken_at(uow, req.source)
    due = amount_due_fen(payable.lines, uow.catalogue.items(), payable.due_date, business_date(now))
    _check_amount(req, due)
    order = Order(
        id=0,
        order_no=new_order_no(now),
        payable_id=payable.id,
        channel=req.channel.value,
        method=OrderMethod(req.channel.value),
        amount_fen=due,
        status=OrderStatus.PAYING,
        qr_code=None,
        channel_trade_no=req.serial,
        created_at=now,
        expires_at=now,
        paid_at=req.paid_at or now,
        site_id=place.site_id,
        window_id=place.window_id,
        device_id=place.device_id,
        shift_id=place.shift_id,
    )
    uow.orders.add(order)
    return order


def _check_amount(req: InPersonRequest, due: int) -> None:
    if req.amount_fen is not None and req.amount_fen != due:
        message = f"缴款金额 {format_yuan(req.amount_fen)} 与今日应缴 {format_yuan(due)} 不符"
        raise ValidationFailed(message, errors={"amount_fen": f"应为 {due}"})
    if req.received_fen is not None and req.received_fen < due:
        message = f"实收 {format_yuan(req.received_fen)} 少于应缴 {format_yuan(due)}"
        raise ValidationFailed(message, errors={"received_fen": f"至少应为 {due}"})


def finish(
    uow: InPersonUnitOfWork, channel: Channel, key: str, order_no: str, *, clock: Clock
) -> Order:
    """Apply a stored in-person order still paying (stored by a version that applied it in a
    second transaction, and stopped between the two); the order after it."""
    order = _settled_order(uow, order_no)
    if order.status is OrderStatus.PAYING:
        result = TradeResult(
            order_no,
            TradeState.SUCCEEDED,
            amount_fen=order.amount_fen,
            channel_trade_no=order.channel_trade_no,
            paid_at=order.paid_at,
        )
        with uow:
            outcome = apply_trade_in(uow, result, clock=clock)
            uow.inbox.mark(channel.value, key, outcome.value, clock.now())
            uow.commit()
        order = _settled_order(uow, order_no)
    assert order.status is OrderStatus.SUCCEEDED, order.status
    return order


def _settled_order(uow: InPersonUnitOfWork, order_no: str) -> Order:
    with uow:
        order = uow.orders.by_no(order_no)
    assert order is not None
    if order.status is OrderStatus.REVERSED:
        raise Conflict(f"流水号 {order.channel_trade_no} 已冲正")
    return order
