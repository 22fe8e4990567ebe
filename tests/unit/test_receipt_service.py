"""E-receipt numbering (`services.receipts`): numbers drawn in order from the unit's stock (or
an 开票点's own), ranges used up move on to the next, no gap and no reuse, and a wait with one
alert when the stock is exhausted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.payables import Payable
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import Outcome
from publicpay.domain.receipts.receipts import ReceiptStockExhausted
from publicpay.domain.receipts.records import JobKind
from publicpay.domain.time import business_date
from publicpay.services.payments.orders import apply_trade_in
from publicpay.services.receipts.building import PayableNotPaid
from publicpay.services.receipts.issuing import issue_due_receipts, request_receipt
from publicpay.services.receipts.stock import allocate_stock, install_key, write_off
from tests.fakes import FakeReceiptFormats
from tests.unit.services_kit import OFFICE, RECEIPTS, REGION, SCHOOL, World

CODE = "33010126"


def _world(*ranges: tuple[int, int], point: str | None = None) -> World:
    """The office with its signing keys and the given ranges (start, count) of stock."""
    world = World()
    install_key(world.uow(), "unit", OFFICE.code, b"office key", actor="finance", clock=world.clock)
    install_key(world.uow(), "finance", REGION, b"bureau key", actor="finance", clock=world.clock)
    for start, count in ranges:
        _allocate(world, start, count, point=point)
    return world


def _allocate(world: World, start: int, count: int, *, point: str | None = None) -> int:
    return allocate_stock(
        world.uow(),
        CODE,
        start,
        count,
        unit_id=OFFICE.id,
        issuing_point=point,
        actor="finance",
        clock=world.clock,
    )


def _issue(world: World) -> int:
    return issue_due_receipts(world.uow, FakeReceiptFormats(), policy=RECEIPTS, clock=world.clock)


def _paid(world: World, count: int) -> list[Payable]:
    payables = [world.register() for _ in range(count)]
    for payable in payables:
        world.pay(payable)
    return payables


def _numbers(world: World, kind: str = "normal") -> list[int]:
    rows = sorted(world.tables.receipts.values(), key=lambda r: r.id)
    return [int(r.receipt.number) for r in rows if r.receipt.kind == kind]


def _stock(world: World) -> list[tuple[int, int, str]]:
    with world.uow() as uow:
        return [(s.next, s.unused, s.status) for s in uow.receipts.stocks(OFFICE.id)]


def test_receipts_take_the_next_numbers_of_the_units_stock_in_payment_order() -> None:
    world = _world((1001, 100))
    payables = _paid(world, 4)
    assert _issue(world) == 4
    rows = sorted(world.tables.receipts.values(), key=lambda r: r.id)
    assert [(r.receipt.payable_id, r.receipt.number) for r in rows] == [
        (p.id, f"{1001 + n:010d}") for n, p in enumerate(payables)
    ]
    assert {r.receipt.code for r in rows} == {CODE}
    assert _stock(world) == [(1005, 96, "active")]
    assert world.outbox_types().count("receipt.issued") == 4
    assert world.audit_actions()[-1] == "receipt.issued"
    assert {row.status for row in world.tables.receipt_jobs.values()} == {"done"}


def test_a_job_run_again_issues_nothing_and_draws_no_number() -> None:
    world = _world((1, 10))
    _paid(world, 2)
    _issue(world)
    for row in world.tables.receipt_jobs.values():  # as if a worker had died after issuing
        row.status, row.next_attempt_at = "pending", world.clock.now()
    assert _issue(world) == 0
    assert _numbers(world) == [1, 2]
    assert _stock(world) == [(3, 8, "active")]


def test_a_used_up_range_is_exhausted_and_the_next_range_takes_over() -> None:
    world = _world((1, 2), (500, 3))
    _paid(world, 4)
    assert _issue(world) == 4
    assert _numbers(world) == [1, 2, 500, 501]
    assert _stock(world) == [(3, 0, "exhausted"), (502, 1, "active")]


def test_one_by_one_issuing_moves_on_to_the_next_range_too() -> None:
    world = _world((1, 1), (7, 5))
    for _ in range(3):
        _paid(world, 1)
        assert _issue(world) == 1  # a single job is issued on its own
    assert _numbers(world) == [1, 7, 8]


def test_every_number_of_a_range_is_used_once_across_payments_and_refunds() -> None:
    world = _world((1, 20))
    payables = _paid(world, 3)
    _issue(world)
    world.refund(world.payable(payables[1].id), 4_000)  # red receipt + one for what is kept
    world.run_refunds()
    assert _issue(world) == 2
    rows = sorted(world.tables.receipts.values(), key=lambda r: r.id)
    assert [(int(r.receipt.number), r.receipt.kind, r.status) for r in rows] == [
        (1, "normal", "issued"),
        (2, "normal", "reversed"),
        (3, "normal", "issued"),
        (4, "red", "issued"),
        (5, "normal", "issued"),
    ]
    assert [r.receipt.total_fen for r in rows[3:]] == [-10_000, 6_000]
    [stock_id] = {r.receipt.stock_id for r in rows}
    with world.uow() as uow:
        assert uow.receipts.count_from_stock(stock_id) == 5
    assert _stock(world) == [(6, 15, "active")]


def test_without_stock_issuing_waits_with_one_alert_and_nothing_half_issued() -> None:
    world = _world()
    _paid(world, 2)
    assert _issue(world) == 0
    jobs = list(world.tables.receipt_jobs.values())
    assert {(j.status, j.job.last_error) for j in jobs} == {("pending", ReceiptStockExhausted.code)}
    alerts = [a for a in world.tables.audit if a.action == "receipt.alert"]
    assert [a.detail["error"] for a in alerts] == ["receipt_stock_exhausted"] * 2
    assert "本单位没有可用的票据号段" in alerts[0].detail["detail"]
    assert world.tables.receipts == {}
    world.clock.advance(seconds=61)
    assert _issue(world) == 0
    assert len([a for a in world.tables.audit if a.action == "receipt.alert"]) == 2  # once
    _allocate(world, 1, 10)
    world.clock.advance(seconds=61)
    assert _issue(world) == 2
    assert _numbers(world) == [1, 2]


def test_a_batch_larger_than_the_stock_issues_what_it_can_and_the_rest_waits() -> None:
    world = _world((1, 2))
    payables = _paid(world, 3)
    assert _issue(world) == 2
    waiting = [r for r in world.tables.receipt_jobs.values() if r.status == "pending"]
    assert [(r.job.payable_id, r.job.last_error) for r in waiting] == [
        (payables[2].id, "receipt_stock_exhausted")
    ]
    assert _stock(world) == [(3, 0, "exhausted")]


def test_a_single_job_without_stock_raises_the_documented_error_and_waits() -> None:
    assert ReceiptStockExhausted.code == "receipt_stock_exhausted"
    assert ReceiptStockExhausted.title == "票据号段已用完"
    world = _world()
    _paid(world, 1)
    assert _issue(world) == 0
    [job] = world.tables.receipt_jobs.values()
    assert (job.status, job.job.last_error) == ("pending", "receipt_stock_exhausted")
    assert job.next_attempt_at == world.clock.now() + timedelta(seconds=60)


def _pay_at_point(world: World, payable: Payable, point: str) -> None:
    """A payment taken at an 开票点, which asks for the receipt there in the same transaction."""
    order = world.open_order(payable, Channel.UNIONPAY)
    paid = TradeResult(
        order.order_no, TradeState.SUCCEEDED, order.amount_fen, "T", world.clock.now()
    )
    with world.uow() as uow:
        uow.receipts.enqueue(JobKind.ISSUE, order.order_no, payable.id, point, world.clock.now())
        assert apply_trade_in(uow, paid, clock=world.clock) is Outcome.PAID
        uow.commit()


def test_an_issuing_point_draws_from_its_own_stock_and_the_unit_from_its_own() -> None:
    world = _world((1, 10))
    _allocate(world, 900, 10, point="窗口1")
    at_window = [world.register() for _ in range(2)]
    for payable in at_window:
        _pay_at_point(world, payable, "窗口1")
    online = _paid(world, 2)
    assert _issue(world) == 4
    by_payable = {
        r.receipt.payable_id: int(r.receipt.number) for r in world.tables.receipts.values()
    }
    assert [by_payable[p.id] for p in at_window] == [900, 901]
    assert [by_payable[p.id] for p in online] == [1, 2]


def test_an_issuing_point_without_stock_waits_although_the_unit_has_some() -> None:
    world = _world((1, 10))
    payable = world.register()
    _pay_at_point(world, payable, "窗口2")
    assert _issue(world) == 0
    [job] = world.tables.receipt_jobs.values()
    assert job.job.last_error == "receipt_stock_exhausted"
    alert = [a for a in world.tables.audit if a.action == "receipt.alert"][-1]
    assert "开票点 窗口2没有可用的票据号段" in alert.detail["detail"]


def test_stock_ranges_may_not_overlap_and_must_be_well_formed() -> None:
    world = _world((100, 50))
    with pytest.raises(Conflict, match="0000000149"):
        _allocate(world, 149, 5)
    _allocate(world, 150, 5)
    with pytest.raises(ValidationFailed, match="8位数字"):
        allocate_stock(
            world.uow(), "3301012", 1, 1, unit_id=OFFICE.id, actor="f", clock=world.clock
        )
    with pytest.raises(ValidationFailed, match="号段超出范围"):
        _allocate(world, 9_999_999_999, 2)
    with pytest.raises(NotFound):
        allocate_stock(world.uow(), CODE, 5000, 1, unit_id=99, actor="f", clock=world.clock)


def test_a_receipt_for_an_unpaid_payable_is_refused_and_its_job_given_up() -> None:
    world = _world((1, 10))
    payable = world.register()
    with world.uow() as uow:
        with pytest.raises(PayableNotPaid):
            request_receipt(uow, payable, "P-not-paid", world.clock.now())
        uow.receipts.enqueue(JobKind.ISSUE, "P-not-paid", payable.id, None, world.clock.now())
        uow.commit()
    assert _issue(world) == 0
    [job] = world.tables.receipt_jobs.values()
    assert (job.status, job.job.last_error) == ("failed", "validation_failed")
    assert world.tables.receipts == {}
    assert _stock(world) == [(1, 10, "active")]


def test_the_write_off_report_balances_numbers_receipts_and_payments() -> None:
    world = _world((1, 50))
    payables = _paid(world, 2)
    _issue(world)
    world.refund(world.payable(payables[0].id), 1_000)
    world.run_refunds()
    _issue(world)
    today = business_date(world.clock.now())
    report = write_off(world.uow(), OFFICE.id, today, today)
    assert report.balanced, report.problems
    assert (report.issued_count, report.red_count, report.unused) == (3, 1, 46)
    assert (report.paid_fen, report.refunded_fen) == (20_000, 1_000)
    assert report.issued_fen + report.red_fen == 20_000 - 1_000
    with pytest.raises(NotFound):
        write_off(world.uow(), 99, today, today)
    assert write_off(world.uow(), SCHOOL.id, today, today).receipts == []
