"""The workbench's actions act, on a platform of its own (one business day, worked in order):
a channel-only payment refunded through the channel it came by, an amount difference written
off after a second person's review (within the limit), an explained difference accepted with no
money moving; bad input changes nothing; then the day is green, clearing runs and
`publicpay check` passes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.queries.reconciliation import day_boxes
from publicpay.adapters.db.reconciliation.tables import recon_exceptions, statement_lines
from publicpay.adapters.db.refunds import refunds
from publicpay.demo.stack import Stack
from publicpay.domain.errors import Forbidden, InvalidTransition, ValidationFailed
from publicpay.domain.reconciliation import Action, WriteOffOverLimit
from publicpay.emulators.alipay.bill import bill_zip
from publicpay.services.reconciliation.clearing import run_clearing
from publicpay.services.reconciliation.exceptions import resolve_exception, review_exception
from publicpay.services.refunds.execution import run_due_refunds
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.fault_kit import fault
from tests.integration.recon_kit import (
    exceptions_for,
    import_file,
    line_of,
    own_stack,
    run_day,
    today,
    unit_api,
)
from tests.integration.test_carts import _pay_cart
from tests.integration.test_payment_flow import open_order, pay_with_alipay, register, scan

ACCOUNT = "33050161000000000002"
LIMIT = 100  # fen: what one write-off may book to income or loss in these tests


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT, settings={"write_off_limit_fen": LIMIT}) as built:
        yield built


def _lost(stack: Stack) -> tuple[str, str]:
    """A payment whose notification Alipay loses: the channel has it, the platform does not."""
    code = register(unit_api(stack), stack.info["payers"][0])["payment_code"]
    order = open_order(stack, code)
    fault(stack, "alipay", "lose_notify", order["order_no"])
    assert scan(stack, order["qr_code"]).status_code == 200
    return code, order["order_no"]


def _resolve(stack: Stack, exception_id: int, action: Action, reason: str, **kw: Any) -> Any:
    c = stack.container
    return resolve_exception(
        c.uow, c.gateways, exception_id, action, reason, actor="user:li", clock=c.clock,
        write_off_limit_fen=LIMIT, **kw,
    )  # fmt: skip


def _review(stack: Stack, exception_id: int, *, actor: str = "user:wang") -> Any:
    c = stack.container
    return review_exception(c.uow(), exception_id, True, actor=actor, clock=c.clock)


def _journals(stack: Stack, ref: str) -> list[tuple[str, str, int]]:
    stmt = (
        select(ledger_journals.c.kind, ledger_postings.c.account, ledger_postings.c.amount_fen)
        .join(ledger_journals, ledger_journals.c.id == ledger_postings.c.journal_id)
        .where(ledger_journals.c.ref == ref)
        .order_by(ledger_postings.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]  # type: ignore[misc]


def _line(stack: Stack, line_id: int) -> Any:
    with stack.container.engines.read.connect() as conn:
        return conn.execute(select(statement_lines).where(statement_lines.c.id == line_id)).first()


def _exception(stack: Stack, exception_id: int) -> Any:
    stmt = select(recon_exceptions).where(recon_exceptions.c.id == exception_id)
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).first()


def _refund_of(stack: Stack, refund_no: str) -> Any:
    with stack.container.engines.read.connect() as conn:
        return conn.execute(select(refunds).where(refunds.c.refund_no == refund_no)).first()


def _crafted_statement(stack: Stack, more_fen: dict[str, int]) -> bytes:
    """Alipay's bill of today as the emulator would write it, with some trades' amounts changed
    (a channel booking another amount than the order's)."""
    emulator = stack.alipay
    trade = next(iter(emulator.book.for_app(next(iter(emulator._apps)))))
    trades = [
        replace(t, total_fen=t.total_fen + more_fen.get(t.out_trade_no, 0), refunds=dict(t.refunds))
        for t in emulator.book.for_app(trade.app_id)
    ]
    return bill_zip(emulator.pid(trade.app_id), today(), trades, datetime.now(UTC))[1]


def test_a_channel_only_payment_is_refunded_through_the_channel_after_review(own):
    code, order_no = _lost(own)
    run_day(own, "alipay")
    [item] = exceptions_for(own, order_no)
    assert item.match_class == "channel_only"
    resolved = _resolve(own, item.id, Action.REFUND, "缴款人已改用其他方式缴款，长款原路退回")
    assert resolved.detail["refund"]["order_no"] == order_no
    assert _journals(own, order_no) == []  # nothing moves before the second person's review
    closed = _review(own, item.id)
    refund_no = closed.detail["refund_no"]
    refund = _refund_of(own, refund_no)
    assert (refund.kind, refund.status, refund.amount_fen) == (
        "duplicate",
        "pending",
        item.amount_fen,
    )
    assert _journals(own, refund_no) == [
        ("exception_refund", "channel_receivable:alipay", item.amount_fen),
        ("exception_refund", "refunds_payable", -item.amount_fen),
    ]
    assert _line(own, item.line_id).resolution == "refunded"
    c = own.container
    assert run_due_refunds(c.uow, c.gateways, clock=c.clock) >= 1  # the refunds area executes it
    assert _refund_of(own, refund_no).status == "succeeded"
    assert [k for k, _, _ in _journals(own, refund_no)] == ["exception_refund"] * 2 + ["refund"] * 2
    assert own.alipay.book.find(order_no).refunded_fen == item.amount_fen  # the payer has it back
    with own.container.uow() as uow:
        assert uow.payables.by_code(code).status.value == "unpaid"  # it settled nothing


def test_an_explained_difference_is_accepted_with_no_money_moving(own):
    _, order_no = _lost(own)
    run_day(own, "alipay")
    [item] = exceptions_for(own, order_no)
    _resolve(own, item.id, Action.ACCEPT, "缴款人当日已到窗口现金补缴，长款另案处理")
    _review(own, item.id)
    assert _exception(own, item.id).status == "closed"
    assert _line(own, item.line_id).resolution == "accepted"
    assert _journals(own, f"exception:{item.id}") == []
    assert _journals(own, order_no) == []


def test_a_cart_is_one_statement_line_matched_to_the_sum_of_its_orders(own):
    api, payer = unit_api(own), own.info["payers"][0]
    codes = [register(api, payer)["payment_code"] for _ in range(2)]
    cart_no = _pay_cart(own, codes)["order_no"]
    day = run_day(own, "alipay")
    assert day.status == "reconciled", day.counts
    line = line_of(own, cart_no)
    assert line.match_class == "matched"
    assert line.amount_fen == sum(_payable_fen(own, code) for code in codes)
    with own.container.uow() as uow:
        orders = [uow.orders.by_id(int(line.order_id))]
    assert orders[0] is not None
    assert orders[0].cart_id is not None
    assert exceptions_for(own, cart_no) == []


def _payable_fen(stack: Stack, code: str) -> int:
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code)
    assert payable is not None
    return int(payable.paid_fen or 0)


def test_bad_input_changes_nothing(own, caplog):
    _, order_no = _lost(own)
    run_day(own, "alipay")
    [item] = exceptions_for(own, order_no)
    with pytest.raises(ValidationFailed, match="原因"):
        _resolve(own, item.id, Action.ACCEPT, "  ")
    assert _exception(own, item.id).status == "open"
    _resolve(own, item.id, Action.REFUND, "缴款人重复扫码扣款，原路退回")
    assert _exception(own, item.id).status == "resolved"
    with pytest.raises(Forbidden, match="另一人"):
        _review(own, item.id, actor="user:li")
    assert _exception(own, item.id).status == "resolved"
    assert _refund_of_order(own, order_no) == []
    _review(own, item.id)
    with pytest.raises(InvalidTransition):
        _resolve(own, item.id, Action.ACCEPT, "再处理一次")
    with pytest.raises(InvalidTransition):
        _review(own, item.id)
    assert len(_refund_of_order(own, order_no)) == 1  # refunded once
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 4, refusals  # no reason, own review, resolved and reviewed again


def _refund_of_order(stack: Stack, order_no: str) -> list[Any]:
    with stack.container.uow() as uow:
        order = uow.orders.by_no(order_no)
    assert order is not None
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(select(refunds).where(refunds.c.order_id == order.id)))


def test_an_amount_difference_is_written_off_within_the_limit_after_review(own):
    api, payer = unit_api(own), own.info["payers"][0]
    small = pay_with_alipay(own, register(api, payer)["payment_code"])["order_no"]
    large = pay_with_alipay(own, register(api, payer)["payment_code"])["order_no"]
    import_file(own, "alipay", _crafted_statement(own, {small: 3, large: 500}))
    [item] = exceptions_for(own, small)
    [over] = exceptions_for(own, large)
    assert item.match_class == over.match_class == "amount_mismatch"
    with pytest.raises(WriteOffOverLimit, match="限额"):
        _resolve(own, over.id, Action.WRITE_OFF, "渠道多记 5 元，核销")
    assert _exception(own, over.id).status == "open"
    assert _journals(own, f"exception:{over.id}") == []
    plan = _resolve(own, item.id, Action.WRITE_OFF, "渠道按 3 分多结算，尾差核销").detail
    assert plan["write_off"]["amount_fen"] == 3
    assert _journals(own, f"exception:{item.id}") == []
    _review(own, item.id)
    assert _journals(own, f"exception:{item.id}") == [
        ("write_off", "channel_receivable:alipay", 3),
        ("write_off", "write_off_income", -3),
    ]
    assert _line(own, item.line_id).resolution == "written_off"
    # the large one is explained and accepted, in the console (maker, then checker)
    admin, reviewer = make_user(own, "finance_admin"), make_user(own, "finance_reviewer")
    path = f"/console/reconciliation/exceptions/{over.id}"
    with logged_in(own.info["base_url"], admin) as client:
        token = csrf_of(client.get(path).text)
        too_much = client.post(
            f"{path}/resolve", data={"csrf": token, "action": "write_off", "reason": "渠道多记核销"}
        )
        assert too_much.status_code == 409
        assert "限额" in too_much.text
        done = client.post(
            f"{path}/resolve",
            data={"csrf": token, "action": "accept", "reason": "渠道确认次日冲回多记金额"},
        )
        assert done.status_code == 303
    with logged_in(own.info["base_url"], reviewer) as client:
        token = csrf_of(client.get(path).text)
        done = client.post(f"{path}/review", data={"csrf": token, "decision": "approve"})
        assert done.status_code == 303
        page = client.get(f"/console/reconciliation/alipay/{today().isoformat()}")
        assert "已核销" in page.text
        assert "已确认无误" in page.text
    assert _line(own, over.line_id).resolution == "accepted"


def test_cash_deposits_are_matched_with_the_collection_accounts_credits(own):
    from publicpay.demo.activity import DemoActivity
    from publicpay.demo.cash_office import seed_cash_office
    from publicpay.emulators.bank.statement import Movement, render
    from publicpay.services.shifts.deposits import deposits_for_matching

    activity = DemoActivity(own.info)
    try:
        seed_cash_office(own.container, activity.cash_payable)  # window 01 closes balanced
    finally:
        activity.http.close()
    c = own.container
    [deposit] = deposits_for_matching(c.read_uow(), on=today())
    at = f"{today()} 15:00:00"
    unknown = Movement("B-U1", at, "C", 1234, "张三", "汇款")
    day = import_file(own, "bank", render(ACCOUNT, today(), [unknown]))
    assert day.counts == {"unknown_credit": 1, "holding": 1}  # the slip may arrive tomorrow
    [held] = exceptions_for(own, deposit.deposit_no)
    assert held.status == "holding"
    credit = Movement("B-D1", at, "C", deposit.amount_fen, "车管所大厅", deposit.deposit_no)
    day = import_file(own, "bank", render(ACCOUNT, today(), [unknown, credit]))
    assert day.counts == {"unknown_credit": 1, "matched": 1}
    assert exceptions_for(own, deposit.deposit_no)[0].status == "released"
    [credited] = deposits_for_matching(c.read_uow(), on=today())
    assert credited.status.value == "credited"
    assert credited.credit is not None
    assert credited.credit.statement_ref == "B-D1"
    assert [a for _, a, _ in _journals(own, deposit.deposit_no)][-2:] == [
        "collection",
        "cash_in_transit",
    ]
    # the unidentified credit is parked in suspense (待处理), whatever its size
    [item] = exceptions_for(own, "B-U1")
    _resolve(own, item.id, Action.WRITE_OFF, "来款人不明，转待处理挂账")
    _review(own, item.id)
    assert _journals(own, f"exception:{item.id}") == [
        ("write_off", "collection", 1234),
        ("write_off", "suspense", -1234),
    ]
    wrong = Movement("B-D2", at, "C", deposit.amount_fen + 1, "车管所大厅", deposit.deposit_no)
    day = import_file(own, "bank", render(ACCOUNT, today(), [unknown, credit, wrong]))
    assert day.counts == {"unknown_credit": 1, "matched": 1, "amount_mismatch": 1}
    [item] = exceptions_for(own, "B-D2")
    _resolve(own, item.id, Action.ACCEPT, "银行重复入账，已由银行冲正")
    _review(own, item.id)


def test_once_no_exception_is_open_the_day_is_green_clearing_runs_and_check_passes(own):
    with own.container.engines.read.connect() as conn:
        box = day_boxes(conn, [today()])[("alipay", today())]
    assert box.open == 0
    with own.container.uow() as uow:
        from publicpay.domain.reconciliation import Source

        assert uow.reconciliation.day(Source.ALIPAY, today()).status == "reconciled"
    c = own.container
    window = run_clearing(c.uow, c.treasury(), today(), ACCOUNT, clock=c.clock, actor="test")
    assert window.status.value == "confirmed"
    with own.container.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations
