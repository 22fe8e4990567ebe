"""Requested refunds (`services.refunds`): never more than was paid, settled through the
channel, the slices given back by budget level, the ledger balanced after each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from publicpay.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from publicpay.domain.events import DeliveryStatus
from publicpay.domain.ledger import JournalKind
from publicpay.domain.payables import PayableStatus
from publicpay.domain.payments.channels import Channel, RefundState
from publicpay.domain.receipts.records import JobKind
from publicpay.domain.refunds import RefundExceedsPaid, RefundKind, RefundStatus
from publicpay.services.refunds.requests import refund_payable
from tests.unit.services_kit import SPLIT3, TUITION, World, counts, line


def _paid(world: World, code: str = SPLIT3.code) -> int:
    payable = world.register(line(code))
    world.pay(payable)
    return payable.id


def _refund_statuses(world: World) -> list[RefundStatus]:
    return [r.status for r in world.tables.refunds.values()]


def test_partial_refunds_up_to_what_was_paid_and_not_a_fen_more() -> None:
    world = World()
    payable = world.payable(_paid(world))
    world.refund(payable, 3_000)
    world.refund(payable, 6_999)
    world.refund(payable, 1)
    before = counts(world.tables)
    with pytest.raises(RefundExceedsPaid) as refused:
        world.refund(payable, 1)
    assert refused.value.errors == {"amount_fen": "最多可退 0 分"}
    assert "超过可退金额 0.00 元" in refused.value.detail
    assert counts(world.tables) == before
    assert [r.amount_fen for r in world.tables.refunds.values()] == [3_000, 6_999, 1]
    assert {r.kind for r in world.tables.refunds.values()} == {RefundKind.REQUESTED}


def test_refunds_waiting_for_the_channel_count_against_what_is_left() -> None:
    world = World()
    payable = world.payable(_paid(world))
    world.refund(payable, 9_000)
    with pytest.raises(RefundExceedsPaid, match=r"超过可退金额 10\.00 元"):
        world.refund(payable, 1_001)


def test_a_failed_refund_gives_its_amount_back_to_what_can_be_refunded() -> None:
    world = World()
    payable = world.payable(_paid(world))
    alipay = world.gateways.channels[Channel.ALIPAY]
    alipay.refund_answers.append(
        ChannelRejected("余额不足", channel_code="ACQ.SELLER_BALANCE_NOT_ENOUGH")
    )
    world.refund(payable, 10_000)
    assert world.run_refunds() == 0
    assert _refund_statuses(world) == [RefundStatus.FAILED]
    assert world.audit_actions()[-1] == "refund.failed"
    world.refund(payable, 10_000)
    assert world.run_refunds() == 1
    assert world.payable(payable.id).status is PayableStatus.REFUNDED


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [(0, "撤销", "amount_fen"), (-5, "撤销", "amount_fen"), (10, " ", "reason")],
)
def test_a_refund_needs_a_positive_amount_and_a_reason(
    amount: int, reason: str, field: str
) -> None:
    world = World()
    payable = world.payable(_paid(world))
    with pytest.raises(ValidationFailed) as refused:
        world.refund(payable, amount, reason)
    assert list(refused.value.errors) == [field]


def test_only_a_paid_payable_can_be_refunded() -> None:
    world = World()
    unpaid = world.register()
    with pytest.raises(InvalidTransition, match="未缴款、已撤销或已全额退款"):
        world.refund(unpaid, 1)
    with pytest.raises(NotFound):
        refund_payable(world.uow(), "33010526999999999990", 1, "撤销", actor="t", clock=world.clock)


def test_settled_refunds_move_the_payable_to_partially_refunded_then_refunded() -> None:
    world = World()
    payable_id = _paid(world)
    world.refund(world.payable(payable_id), 2_500)
    assert world.run_refunds() == 1
    partly = world.payable(payable_id)
    assert (partly.status, partly.refunded_fen, partly.paid_fen) == (
        PayableStatus.PARTIALLY_REFUNDED,
        2_500,
        10_000,
    )
    world.refund(partly, 7_500)
    assert world.run_refunds() == 1
    done = world.payable(payable_id)
    assert (done.status, done.refunded_fen) == (PayableStatus.REFUNDED, 10_000)
    with pytest.raises(InvalidTransition, match="已全额退款"):
        world.refund(done, 1)
    refunded = [row.event for row in world.tables.outbox if row.event.type == "payable.refunded"]
    assert [(e.data["amount_fen"], e.data["refunded_fen"], e.data["status"]) for e in refunded] == [
        (2_500, 2_500, "partially_refunded"),
        (7_500, 10_000, "refunded"),
    ]
    assert {e.delivery for e in refunded} == {DeliveryStatus.PENDING}
    jobs = [row.job for row in world.tables.receipt_jobs.values() if row.job.kind is JobKind.REFUND]
    assert [job.ref for job in jobs] == [r.refund_no for r in world.tables.refunds.values()]
    assert world.db.balances(payable_id) == {
        "channel_receivable:alipay": 0,
        "treasury_payable:province": 0,
        "treasury_payable:city": 0,
        "treasury_payable:county": 0,
    }


def test_the_channel_is_asked_for_the_refund_of_the_paying_order() -> None:
    world = World()
    payable = world.payable(_paid(world))
    refund_no = world.refund(payable, 1_234, "多收")
    world.run_refunds()
    [asked] = world.gateways.channels[Channel.ALIPAY].refund_requests
    order = world.tables.orders[payable.paid_order_id or 0]
    assert (asked.order_no, asked.refund_no, asked.refund_fen, asked.total_fen, asked.reason) == (
        order.order_no,
        refund_no,
        1_234,
        10_000,
        "多收",
    )


def test_a_refund_still_processing_is_queried_later_not_sent_again() -> None:
    world = World()
    payable = world.payable(_paid(world))
    alipay = world.gateways.channels[Channel.ALIPAY]
    alipay.refund_answers += [RefundState.PROCESSING, RefundState.SUCCEEDED]
    world.refund(payable, 5_000)
    assert world.run_refunds() == 0
    assert _refund_statuses(world) == [RefundStatus.PROCESSING]
    assert world.run_refunds() == 0  # not due yet: backing off
    world.clock.advance(seconds=31)
    assert world.run_refunds() == 1
    assert len(alipay.refund_requests) == 1
    assert world.payable(payable.id).refunded_fen == 5_000


def test_an_unreachable_channel_postpones_the_refund() -> None:
    world = World()
    payable = world.payable(_paid(world))
    world.gateways.channels[Channel.ALIPAY].refund_answers.append(ChannelUnavailable("超时"))
    world.refund(payable, 5_000)
    assert world.run_refunds() == 0
    [refund] = world.tables.refunds.values()
    assert refund.status is RefundStatus.PENDING
    assert refund.next_attempt_at == world.clock.now() + timedelta(seconds=30)
    world.clock.advance(seconds=30)
    assert world.run_refunds() == 1


def test_a_refund_gives_back_each_budget_levels_slice_in_proportion() -> None:
    world = World()
    payable_id = _paid(world)  # 100.00 split 3 : 3 : 4 between province, city and county
    world.refund(world.payable(payable_id), 1_001)
    world.run_refunds()
    [journal] = [j.journal for j in world.tables.journals if j.journal.kind is JournalKind.REFUND]
    assert sorted((p.account, p.amount_fen) for p in journal.postings) == [
        ("channel_receivable:alipay", -1_001),
        ("treasury_payable:city", 300),
        ("treasury_payable:county", 401),
        ("treasury_payable:province", 300),
    ]


LEVELS = ("treasury_payable:province", "treasury_payable:city", "treasury_payable:county")


@settings(max_examples=50, deadline=None)  # no timed assertion: the machine may be busy
@given(asks=st.lists(st.integers(1, 12_000), min_size=1, max_size=8))
@example(asks=[10_000, 1])  # a refund asked after the full refund
def test_any_sequence_of_refunds_stays_within_what_was_paid_per_budget_level(
    asks: list[int],
) -> None:
    world = World()
    payable_id = _paid(world)
    paid = dict(world.db.balances(payable_id))
    refunded = 0
    for ask in asks:
        payable = world.payable(payable_id)
        if refunded == 10_000:  # fully refunded: nothing is left to ask for
            with pytest.raises(InvalidTransition):
                world.refund(payable, ask)
            continue
        if ask > 10_000 - refunded:
            with pytest.raises(RefundExceedsPaid):
                world.refund(payable, ask)
            continue
        world.refund(payable, ask)
        assert world.run_refunds() == 1
        refunded += ask
        balances = world.db.balances(payable_id)
        assert sum(balances.values()) == 0
        assert balances["channel_receivable:alipay"] == 10_000 - refunded
        for level in LEVELS:  # owed to each level: never below zero, never above what it got
            assert paid[level] <= balances[level] <= 0
        assert -sum(balances[level] for level in LEVELS) == 10_000 - refunded
        settled = world.payable(payable_id)
        assert settled.refunded_fen == refunded
        expected = (
            PayableStatus.REFUNDED if refunded == 10_000 else PayableStatus.PARTIALLY_REFUNDED
        )
        assert settled.status is expected
    assert sum(world.db.balances().values()) == 0


def test_a_special_account_item_gives_back_to_the_special_account() -> None:
    world = World()
    payable = world.register(line(TUITION.code))
    world.pay(payable)
    world.refund(world.payable(payable.id), 10_000)
    world.run_refunds()
    assert world.db.balances(payable.id) == {
        "channel_receivable:alipay": 100_000,
        "special_account": -100_000,
    }
