"""Payments (`services.payments`): order and payable transitions, duplicate payments, late
successes, amount mismatches, recovery, and the bank counter's same-day reversal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publicpay.domain.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from publicpay.domain.events import DeliveryStatus
from publicpay.domain.ledger import JournalKind
from publicpay.domain.payables import PayableStatus
from publicpay.domain.payments.channels import (
    Channel,
    Notification,
    NotificationKind,
    RefundState,
    TradeResult,
    TradeState,
)
from publicpay.domain.payments.orders import OrderMethod, OrderStatus, Outcome, TooManyOpenOrders
from publicpay.domain.refunds import RefundKind, RefundStatus
from publicpay.services.payables.registration import cancel_payable
from publicpay.services.payments.counter import ConfirmPayment, confirm_payment, reverse_payment
from publicpay.services.payments.orders import (
    PaymentPolicy,
    apply_trade,
    finish_order,
    reserve_order,
)
from publicpay.services.payments.recovery import recover_open_orders
from publicpay.services.refunds.execution import apply_refund_notification
from tests.unit.services_kit import OFFICE, PASSPORT, PAYEE, POLICY, World, counts, line


def _order_status(world: World, order_no: str) -> OrderStatus:
    with world.uow() as uow:
        order = uow.orders.by_no(order_no)
    assert order is not None
    return order.status


def test_a_success_marks_the_payable_paid_and_books_it_once() -> None:
    world = World()
    payable = world.register(line(PASSPORT.code))
    order = world.open_order(payable)
    assert (order.amount_fen, order.status, order.method) == (12_000, OrderStatus.PAYING, "qr")
    assert world.succeed(order) is Outcome.PAID
    paid = world.payable(payable.id)
    assert (paid.status, paid.paid_fen, paid.paid_order_id, paid.channel) == (
        PayableStatus.PAID,
        12_000,
        order.id,
        "alipay",
    )
    assert paid.paid_at == world.clock.now()
    assert _order_status(world, order.order_no) is OrderStatus.SUCCEEDED
    assert world.db.balances(payable.id) == {
        "channel_receivable:alipay": 12_000,
        "treasury_payable:central": -6_000,
        "treasury_payable:city": -6_000,
    }
    after = counts(world.tables)
    assert world.succeed(order) is Outcome.ALREADY_APPLIED  # the channel says it again
    assert counts(world.tables) == after


def test_a_paid_payable_cannot_be_ordered_again() -> None:
    world = World()
    payable = world.register()
    world.pay(payable)
    with pytest.raises(ValidationFailed, match="已缴款」，不能再支付"):
        world.open_order(payable)


def test_an_unknown_payment_code_cannot_be_ordered() -> None:
    world = World()
    with pytest.raises(NotFound):
        reserve_order(
            world.uow(), "33010526000000000000", Channel.ALIPAY, OrderMethod.QR, world.clock, POLICY
        )


def test_at_most_five_qr_orders_of_a_payable_are_open_at_once() -> None:
    world = World()
    payable = world.register()
    orders = [world.open_order(payable) for _ in range(5)]
    with pytest.raises(TooManyOpenOrders) as refused:
        world.open_order(payable)
    assert refused.value.code == "too_many_open_orders"
    assert "约 15 分钟后再试" in refused.value.detail
    finish_order(world.uow(), orders[0].order_no, OrderStatus.CLOSED, world.clock)
    assert world.open_order(payable).status is OrderStatus.PAYING
    world.clock.advance(seconds=POLICY.order_timeout_s + 1)  # the others expired
    tight = PaymentPolicy(order_timeout_s=900, notify_url=POLICY.notify_url, max_open_orders=1)
    order, _ = reserve_order(
        world.uow(), payable.payment_code, Channel.WECHAT, OrderMethod.QR, world.clock, tight
    )
    assert order.channel == "wechat"


def test_a_second_success_for_a_paid_payable_is_booked_refunded_and_recorded() -> None:
    world = World()
    payable = world.register()
    first, second = world.open_order(payable), world.open_order(payable, Channel.WECHAT)
    world.succeed(first)
    assert world.succeed(second) is Outcome.DUPLICATE_REFUNDING
    kept = world.payable(payable.id)
    assert (kept.status, kept.paid_fen, kept.paid_order_id) == (
        PayableStatus.PAID,
        10_000,
        first.id,
    )
    assert _order_status(world, second.order_no) is OrderStatus.SUCCEEDED
    [refund] = world.tables.refunds.values()
    assert (refund.refund_no, refund.kind, refund.status, refund.amount_fen) == (
        "R" + second.order_no[1:],
        RefundKind.DUPLICATE,
        RefundStatus.PENDING,
        10_000,
    )
    assert (refund.channel, refund.order_id, refund.reason) == (
        "wechat",
        second.id,
        "重复支付自动退款",
    )
    [discrepancy] = world.tables.discrepancies
    assert (discrepancy.kind, discrepancy.order_no, discrepancy.amount_fen) == (
        "duplicate_payment",
        second.order_no,
        10_000,
    )
    assert discrepancy.detail == {"payable_status": "paid", "refund_no": refund.refund_no}
    duplicate = [
        j.journal for j in world.tables.journals if j.journal.kind is JournalKind.DUPLICATE_PAYMENT
    ]
    assert [(p.account, p.amount_fen) for p in duplicate[0].postings] == [
        ("channel_receivable:wechat", 10_000),
        ("refunds_payable", -10_000),
    ]
    assert world.outbox_types().count("payable.paid") == 1  # paid once, told once


def test_the_duplicate_refund_returns_the_money_and_clears_what_is_owed() -> None:
    world = World()
    payable = world.register()
    first, second = world.open_order(payable), world.open_order(payable, Channel.WECHAT)
    world.succeed(first)
    world.succeed(second)
    assert world.run_refunds() == 1
    [asked] = world.gateways.channels[Channel.WECHAT].refund_requests
    assert (asked.order_no, asked.refund_fen, asked.total_fen) == (second.order_no, 10_000, 10_000)
    [refund] = world.tables.refunds.values()
    assert refund.status is RefundStatus.SUCCEEDED
    assert world.db.balances(payable.id) == {
        "channel_receivable:alipay": 10_000,
        "channel_receivable:wechat": 0,
        "treasury_payable:county": -10_000,
        "refunds_payable": 0,
    }
    assert (
        world.payable(payable.id).status is PayableStatus.PAID
    )  # the duplicate is not a refund of it


def test_a_payment_for_a_cancelled_payable_says_so_and_is_refunded() -> None:
    world = World()
    payable = world.register()
    order = world.open_order(payable)
    cancel_payable(world.uow(), payable.payment_code, unit_id=OFFICE.id, clock=world.clock)
    assert world.succeed(order) is Outcome.DUPLICATE_REFUNDING
    assert world.payable(payable.id).status is PayableStatus.CANCELLED
    [discrepancy] = world.tables.discrepancies
    assert discrepancy.kind == "payment_for_closed_payable"
    assert discrepancy.detail["payable_status"] == "cancelled"
    [refund] = world.tables.refunds.values()
    assert (refund.kind, refund.amount_fen) == (RefundKind.DUPLICATE, 10_000)
    assert "payable.paid" not in world.outbox_types()


def test_a_duplicate_cash_payment_is_handed_to_finance_for_a_manual_refund() -> None:
    world = World()
    payable = world.register()
    cash, _ = reserve_order(
        world.uow(), payable.payment_code, Channel.CASH, OrderMethod.CASH, world.clock, POLICY
    )
    world.pay(payable)  # someone paid by wallet meanwhile
    result = TradeResult(cash.order_no, TradeState.SUCCEEDED, amount_fen=10_000)
    assert apply_trade(world.uow(), result, clock=world.clock) is Outcome.DUPLICATE_REFUNDING
    assert world.run_refunds() == 0
    [refund] = world.tables.refunds.values()
    assert (refund.channel, refund.status) == ("cash", RefundStatus.MANUAL)
    assert world.audit_actions()[-1] == "refund.manual"


def test_a_closed_order_paid_late_is_recovered_and_recorded() -> None:
    world = World()
    payable = world.register()
    order = world.open_order(payable)
    closed = TradeResult(order.order_no, TradeState.CLOSED)
    assert apply_trade(world.uow(), closed, clock=world.clock) is Outcome.CLOSED
    assert apply_trade(world.uow(), closed, clock=world.clock) is Outcome.UNCHANGED
    assert world.succeed(order) is Outcome.PAID
    assert world.payable(payable.id).status is PayableStatus.PAID
    [discrepancy] = world.tables.discrepancies
    assert (discrepancy.kind, discrepancy.order_no, discrepancy.payable_id) == (
        "late_success",
        order.order_no,
        payable.id,
    )
    assert discrepancy.detail == {"order_status": "closed", "recovered": True}


def test_recovery_closes_an_expired_order_and_a_late_success_still_counts() -> None:
    world = World()
    payable = world.register()
    order = world.open_order(payable)
    world.clock.advance(seconds=POLICY.order_timeout_s + 1)
    settled = recover_open_orders(world.uow, world.gateways, clock=world.clock, older_than_s=60)
    assert settled == 1
    assert world.gateways.channels[Channel.ALIPAY].queried == [order.order_no]
    assert _order_status(world, order.order_no) is OrderStatus.CLOSED
    assert world.succeed(order) is Outcome.PAID
    assert [d.kind for d in world.tables.discrepancies] == ["late_success"]


def test_recovery_applies_a_success_the_notification_never_brought() -> None:
    world = World()
    payable = world.register()
    order = world.open_order(payable)
    alipay = world.gateways.channels[Channel.ALIPAY]
    alipay.trades[order.order_no] = TradeResult(order.order_no, TradeState.SUCCEEDED, 10_000, "T1")
    world.clock.advance(seconds=61)
    assert recover_open_orders(world.uow, world.gateways, clock=world.clock, older_than_s=60) == 1
    assert world.payable(payable.id).status is PayableStatus.PAID
    assert world.tables.discrepancies == []


def test_a_success_for_another_amount_is_refused_and_recorded() -> None:
    world = World()
    payable = world.register()
    order = world.open_order(payable)
    assert world.succeed(order, amount_fen=9_999) is Outcome.AMOUNT_MISMATCH
    assert not Outcome.AMOUNT_MISMATCH.accepted  # the channel is asked to send it again
    assert world.payable(payable.id).status is PayableStatus.UNPAID
    assert _order_status(world, order.order_no) is OrderStatus.FAILED
    assert world.tables.journals == []
    [discrepancy] = world.tables.discrepancies
    assert (discrepancy.kind, discrepancy.amount_fen, discrepancy.detail) == (
        "amount_mismatch",
        9_999,
        {"expected_fen": 10_000, "reported_fen": 9_999},
    )


def test_news_of_an_unknown_order_changes_nothing() -> None:
    world = World()
    before = counts(world.tables)
    result = TradeResult("P000000000000unknown", TradeState.SUCCEEDED, 100)
    assert apply_trade(world.uow(), result, clock=world.clock) is Outcome.UNKNOWN_ORDER
    assert counts(world.tables) == before


def test_a_pending_trade_leaves_the_order_paying_and_a_failed_one_ends_it() -> None:
    world = World()
    order = world.open_order(world.register())
    pending = TradeResult(order.order_no, TradeState.PENDING)
    assert apply_trade(world.uow(), pending, clock=world.clock) is Outcome.PENDING
    assert _order_status(world, order.order_no) is OrderStatus.PAYING
    failed = TradeResult(order.order_no, TradeState.FAILED)
    assert apply_trade(world.uow(), failed, clock=world.clock) is Outcome.CLOSED
    assert _order_status(world, order.order_no) is OrderStatus.FAILED


# --- the bank counter (银行代收) and its same-day reversal (冲正) -----------------------------


def _confirm(world: World, code: str, serial: str, amount_fen: int = 10_000) -> None:
    cmd = ConfirmPayment("bank_icbc", serial, code, amount_fen, branch="西湖支行", teller="T01")
    taken = confirm_payment(world.uow(), cmd, clock=world.clock)
    assert taken.order.status is OrderStatus.SUCCEEDED


def _reverse(world: World, serial: str) -> PayableStatus:
    reversal = reverse_payment(
        world.uow(), bank="bank_icbc", bank_serial=serial, reason="柜员输错", clock=world.clock
    )
    return reversal.payable.status


def test_a_counter_payment_reversed_the_same_day_is_unpaid_again_with_the_journal_negated() -> None:
    world = World()
    payable = world.register()
    _confirm(world, payable.payment_code, "S1")
    world.clock.advance(hours=3)
    assert _reverse(world, "S1") is PayableStatus.UNPAID
    assert set(world.db.balances(payable.id).values()) == {0}
    kinds = [j.journal.kind for j in world.tables.journals if j.payable_id == payable.id]
    assert kinds == [JournalKind.PAYMENT, JournalKind.REVERSAL]
    assert world.outbox_types()[-2:] == ["payable.paid", "payable.reversed"]
    reversed_event = world.tables.outbox[-1]
    assert reversed_event.event.delivery is DeliveryStatus.PENDING
    assert reversed_event.event.data["reason"] == "柜员输错"
    again = world.payable(payable.id)
    assert (again.paid_fen, again.paid_order_id, again.channel) == (None, None, None)
    written = counts(world.tables)
    assert _reverse(world, "S1") is PayableStatus.UNPAID  # a repeat: the same answer
    assert counts(world.tables) == written
    with pytest.raises(Conflict, match="已冲正"):
        _confirm(world, payable.payment_code, "S1")
    _confirm(world, payable.payment_code, "S2")  # the payer pays again
    assert world.payable(payable.id).status is PayableStatus.PAID


def test_a_counter_payment_cannot_be_reversed_on_the_next_shanghai_day() -> None:
    world = World()
    world.clock.current = world.clock.current.replace(hour=15, minute=30)  # 23:30 in Shanghai
    payable = world.register()
    _confirm(world, payable.payment_code, "S1")
    world.clock.advance(minutes=31)  # 00:01 the next day
    before = counts(world.tables)
    with pytest.raises(InvalidTransition, match="只能冲正当日"):
        _reverse(world, "S1")
    assert counts(world.tables) == before


def test_a_refunded_counter_payment_cannot_be_reversed() -> None:
    world = World()
    payable = world.register()
    _confirm(world, payable.payment_code, "S1")
    refund_no = world.refund(payable, 4_000, payee=PAYEE)
    assert world.run_refunds() == 0  # no channel to refund a counter payment through
    [refund] = world.tables.refunds.values()
    assert refund.status is RefundStatus.MANUAL
    returned = Notification(  # finance returned the money and it is recorded
        Channel.COUNTER,
        "N1",
        NotificationKind.REFUND,
        world.tables.orders[refund.order_id].order_no,
        RefundState.SUCCEEDED,
        4_000,
        "bank_icbc",
        refund_no=refund_no,
    )
    outcome = apply_refund_notification(world.uow(), returned, clock=world.clock)
    assert outcome is Outcome.REFUND_APPLIED
    assert world.payable(payable.id).status is PayableStatus.PARTIALLY_REFUNDED
    before = counts(world.tables)
    with pytest.raises(InvalidTransition, match="已退款"):
        _reverse(world, "S1")
    assert counts(world.tables) == before


def test_a_counter_payment_with_a_refund_under_way_cannot_be_reversed() -> None:
    """A refund waiting for finance to return the money by hand (or still at the channel)
    would be paid on top of the reversal: the reversal is refused until the refund ends."""
    world = World()
    payable = world.register()
    _confirm(world, payable.payment_code, "S1")
    world.refund(payable, 4_000, payee=PAYEE)
    assert world.run_refunds() == 0
    [refund] = world.tables.refunds.values()
    assert refund.status is RefundStatus.MANUAL
    before = counts(world.tables)
    with pytest.raises(InvalidTransition, match="退款尚未完成"):
        _reverse(world, "S1")
    assert counts(world.tables) == before
    assert world.payable(payable.id).status is PayableStatus.PAID


def test_a_counter_confirmation_for_another_amount_or_a_paid_payable_is_refused() -> None:
    world = World()
    payable = world.register()
    with pytest.raises(ValidationFailed) as refused:
        _confirm(world, payable.payment_code, "S1", amount_fen=9_000)
    assert refused.value.errors == {"amount_fen": "应为 10000"}
    _confirm(world, payable.payment_code, "S2")
    before = counts(world.tables)
    with pytest.raises(Conflict, match="已缴款"):
        _confirm(world, payable.payment_code, "S3")
    assert counts(world.tables) == before


def test_an_unknown_bank_serial_cannot_be_reversed() -> None:
    world = World()
    with pytest.raises(NotFound):
        _reverse(world, "NOPE")


def test_orders_expire_after_the_policys_timeout() -> None:
    world = World()
    order = world.open_order(world.register())
    assert order.expires_at - order.created_at == timedelta(seconds=POLICY.order_timeout_s)
