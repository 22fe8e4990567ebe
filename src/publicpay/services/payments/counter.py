"""Bank counter (银行代收, spec B1): the teller queries by payment code, collects, confirms;
the bank may reverse (冲正) a confirmed payment on the same business day (Asia/Shanghai).

Confirmations go through `in_person.take_payment` (inbox + `apply_trade`). A confirmation for a
payable that is no longer unpaid is refused (409 已缴款) before anything is booked: the bank must
query first, and a refusal tells it to hand the money back. A reversal negates the payment journal
exactly, puts the payable back to unpaid and tells the business system (`payable.reversed`).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime

from publicpay.domain.codes import parse_payment_code
from publicpay.domain.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from publicpay.domain.ledger import JournalKind
from publicpay.domain.payables import Payable, PayableStatus, amount_due_fen, check_reversal
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import Order, OrderStatus, Outcome, check_transition
from publicpay.domain.time import business_date
from publicpay.services.payments.in_person import InPersonRequest, InPersonUnitOfWork, Taken, finish
from publicpay.services.payments.in_person import take_payment as take_in_person
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CounterView:
    """What the teller sees for a payment code."""

    payable: Payable
    unit_name: str
    amount_due_fen: int

    @property
    def late_fee_fen(self) -> int:
        return self.amount_due_fen - self.payable.amount_fen


@dataclass(frozen=True, slots=True)
class ConfirmPayment:
    bank: str  # the bank's app id
    bank_serial: str
    payment_code: str
    amount_fen: int
    paid_at: datetime | None = None
    branch: str = ""
    teller: str = ""


@dataclass(frozen=True, slots=True)
class Reversal:
    order: Order
    payable: Payable
    reversed_at: datetime
    replayed: bool


def view_payable(uow: UnitOfWork, payment_code: str, *, clock: Clock) -> CounterView:
    parse_payment_code(payment_code)  # a mistyped code → 422 by the check digit
    with uow:
        payable = uow.payables.by_code(payment_code)
        if payable is None:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        unit = uow.units.get(payable.unit_id)
        items = uow.catalogue.items()
    due = amount_due_fen(payable.lines, items, payable.due_date, business_date(clock.now()))
    return CounterView(payable, unit.name if unit else "", due)


def confirm_payment(uow: InPersonUnitOfWork, cmd: ConfirmPayment, *, clock: Clock) -> Taken:
    detail = {"branch": cmd.branch, "teller": cmd.teller}
    request = InPersonRequest(
        channel=Channel.COUNTER,
        source=cmd.bank,
        serial=cmd.bank_serial,
        payment_code=cmd.payment_code,
        amount_fen=cmd.amount_fen,
        paid_at=cmd.paid_at,
        detail=detail,
    )
    return take_in_person(uow, request, clock=clock)


def reverse_payment(
    uow: InPersonUnitOfWork, *, bank: str, bank_serial: str, reason: str, clock: Clock
) -> Reversal:
    key = f"{bank}:{bank_serial}"
    with uow:
        stored = uow.inbox.request(Channel.COUNTER.value, key)
    if stored is None:
        raise NotFound(f"流水号 {bank_serial} 没有对应的缴款")
    order_no = stored[0]
    with suppress(Conflict):  # already reversed: answered below
        finish(uow, Channel.COUNTER, key, order_no, clock=clock)  # a confirm cut short
    with uow:
        order = uow.orders.by_no(order_no)
        assert order is not None
        payable = uow.payables.by_id(order.payable_id, lock=True)  # lock order: payable, order
        order = uow.orders.by_no(order_no, lock=True)
        assert payable is not None
        assert order is not None
        if order.status is OrderStatus.REVERSED:
            return Reversal(order, payable, order.closed_at or clock.now(), replayed=True)
        _check_reversible(payable, order, clock.now())
        refunds = uow.refunds.for_payable(payable.id)
        if any(r.under_way and r.order_id == order.id for r in refunds):
            raise InvalidTransition("该笔缴款有退款尚未完成，不能冲正")
        if uow.receipts.live_for_payable(payable.id, lock=True) is not None:
            raise InvalidTransition("该笔缴款已开具财政票据，不能冲正")
        reversal = _reverse(uow, payable, order, key, bank=bank, reason=reason, clock=clock)
        uow.commit()
        return reversal


def _check_reversible(payable: Payable, order: Order, now: datetime) -> None:
    if payable.paid_order_id != order.id:
        raise InvalidTransition("该笔为重复缴款，已登记退还缴款人，不能冲正")
    if order.paid_at is None or business_date(order.paid_at) != business_date(now):
        raise InvalidTransition("只能冲正当日（北京时间）的缴款")
    if payable.status in (PayableStatus.REFUNDED, PayableStatus.PARTIALLY_REFUNDED):
        raise InvalidTransition("该笔缴款已退款，不能冲正")
    check_reversal(payable.status)
    check_transition(order.status, OrderStatus.REVERSED)


def _reverse(
    uow: InPersonUnitOfWork,
    payable: Payable,
    order: Order,
    key: str,
    *,
    bank: str,
    reason: str,
    clock: Clock,
) -> Reversal:
    now = clock.now()
    journal = uow.ledger.journal(JournalKind.PAYMENT, order.order_no)
    if journal is None:
        raise ValidationFailed(f"订单 {order.order_no} 没有入账分录，不能冲正")
    order.reverse(at=now)
    uow.collect(payable.reverse(order, journal, by=f"bank:{bank}", reason=reason, at=now))
    uow.orders.save(order)
    uow.payables.save(payable)
    uow.inbox.mark(Channel.COUNTER.value, key, Outcome.REVERSED.value, now)
    return Reversal(order, payable, now, replayed=False)


def statement_day(text: str, *, clock: Clock) -> date:
    """The statement date from the URL: YYYY-MM-DD, not in the future (Asia/Shanghai)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", errors={"day": "YYYY-MM-DD"}) from None
    if len(text) != 10 or day > business_date(clock.now()):
        raise ValidationFailed("对账日期无效或在今天之后", errors={"day": "不能晚于今天"})
    return day
