"""Refunds paid by bank transfer (counter and cash payments) in the three-way reconciliation:
the collection account's debit `REFUND:<refund no>` is matched to the platform's refund, the
ledger takes the money out of the collection account once, and each difference is a class of
its own (a debit with no refund, another amount, a refund no debit shows: held, then 短款).
In the demo the cashiers' deposit slips and finance's refund transfers reach the emulated bank
by themselves, so they are credited and debited.
On a platform of its own, so that the bank's days hold only this file's movements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.queries.reconciliation import day_boxes, day_lines
from publicpay.adapters.db.refunds import refunds
from publicpay.demo.stack import Stack
from publicpay.domain.reconciliation import Action
from publicpay.emulators.bank.statement import Movement, render
from publicpay.services.reconciliation.exceptions import resolve_exception, review_exception
from publicpay.services.refunds.approval import Approver
from publicpay.services.refunds.transfers import record_transfer
from tests.integration.console_kit import logged_in, make_user
from tests.integration.counter_kit import bank_teller
from tests.integration.recon_kit import (
    exceptions_for,
    import_file,
    own_stack,
    run_day,
    today,
    unit_api,
)
from tests.integration.refund_kit import handed_over_refund
from tests.integration.test_payment_flow import register

ACCOUNT = "33050161000000000088"
PAYEE = {"name": "王芳", "bank": "中国工商银行杭州西湖支行", "account_no": "6222021234567890128"}


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT, visits_to_the_bank=True) as built:
        yield built


def _transfer_refund(stack: Stack, amount_fen: int) -> str:
    """A counter payment, a refund of `amount_fen` asked with the payer's account and approved:
    it waits for finance's bank transfer."""
    api = unit_api(stack)
    code = register(api, stack.info["payers"][0])["payment_code"]
    bank_teller(stack).pay(code)
    return handed_over_refund(stack, api, code, amount_fen, PAYEE)


def _bank_pays(stack: Stack, reference: str, amount_fen: int) -> None:
    body = {"reference": reference, "amount_fen": amount_fen, "payee": "王芳"}
    url = f"{stack.info['base_url']}/emulator/bank/transfers"
    assert httpx.post(url, json=body, timeout=10).is_success


def _recorded(stack: Stack, refund_no: str) -> None:
    c = stack.container
    finance_user = Approver("user:fin_transfer", c.settings.region_code)
    record_transfer(c.uow(), refund_no, "ICBC20261206", finance_user, clock=c.clock)


def _journal(stack: Stack, kind: str, ref: str) -> list[tuple[str, int]]:
    stmt = (
        select(ledger_postings.c.account, ledger_postings.c.amount_fen)
        .join(ledger_journals, ledger_journals.c.id == ledger_postings.c.journal_id)
        .where(ledger_journals.c.kind == kind, ledger_journals.c.ref == ref)
        .order_by(ledger_postings.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return [(a, int(f)) for a, f in conn.execute(stmt)]


def _line(stack: Stack, reference: str) -> Any:
    with stack.container.engines.read.connect() as conn:
        _, lines = day_lines(conn, "bank", today())
    return next(line for line in lines if line.order_no == reference)


def _checks_hold(stack: Stack) -> None:
    with stack.container.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations


def test_a_refund_paid_by_bank_transfer_is_matched_on_the_collection_account(own):
    refund_no = _transfer_refund(own, 10_000)
    _bank_pays(own, f"REFUND:{refund_no}", 10_000)
    _recorded(own, refund_no)
    counter = run_day(own, "counter")
    assert exceptions_for(own, refund_no) == []  # not the counter's: it is on the bank's
    assert counter.status == "reconciled", counter.counts
    bank = run_day(own, "bank")
    line = _line(own, f"REFUND:{refund_no}")
    assert (line.kind, line.match_class, line.refund_no) == ("debit", "matched", refund_no)
    assert line.amount_fen == 10_000
    assert line.payment_code  # the refunded payable, shown in the workbench
    assert "matched" in bank.counts
    booked = [("channel_receivable:counter", 10_000), ("collection", -10_000)]
    assert _journal(own, "refund_transfer", refund_no) == booked
    run_day(own, "bank")  # again: nothing is booked twice
    assert _journal(own, "refund_transfer", refund_no) == booked
    _checks_hold(own)


def test_a_debit_with_no_refund_or_another_amount_is_an_exception(own):
    _bank_pays(own, "REFUND:R-NOBODY-0001", 5_000)
    refund_no = _transfer_refund(own, 3_000)
    _bank_pays(own, f"REFUND:{refund_no}", 3_100)
    _recorded(own, refund_no)
    run_day(own, "bank")
    assert _line(own, "REFUND:R-NOBODY-0001").match_class == "status_mismatch"
    assert _line(own, f"REFUND:{refund_no}").match_class == "amount_mismatch"
    assert _journal(own, "refund_transfer", refund_no) == []  # the money did not move as booked
    nobody = exceptions_for(own, _line(own, "REFUND:R-NOBODY-0001").trade_no)
    assert [(e.match_class, e.status) for e in nobody] == [("status_mismatch", "open")]
    _checks_hold(own)


def test_a_debit_before_the_transfer_is_recorded_matches_once_it_is(own):
    refund_no = _transfer_refund(own, 2_000)
    _bank_pays(own, f"REFUND:{refund_no}", 2_000)
    run_day(own, "bank")
    line = _line(own, f"REFUND:{refund_no}")
    assert line.match_class == "status_mismatch"  # finance has not recorded it yet
    _recorded(own, refund_no)
    run_day(own, "bank")  # run again: matched, its exception released
    assert _line(own, f"REFUND:{refund_no}").match_class == "matched"
    assert [e.status for e in exceptions_for(own, line.trade_no)] == ["released"]
    assert len(_journal(own, "refund_transfer", refund_no)) == 2
    _checks_hold(own)


def test_a_transfer_no_debit_shows_is_held_then_short(own):
    refund_no = _transfer_refund(own, 1_000)
    _recorded(own, refund_no)  # recorded; the bank's statement leaves the debit out
    reference = f"REFUND:{refund_no}"
    movements = [m for m in own.bank.movements(today()) if m.reference != reference]
    without = render(ACCOUNT, today(), movements)
    import_file(own, "bank", without)
    [held] = exceptions_for(own, reference)
    assert (held.match_class, held.status) == ("holding", "holding")
    later = today() + timedelta(days=2)
    import_file(own, "bank", render(ACCOUNT, later, []), later)
    [short] = exceptions_for(own, reference)
    assert (short.match_class, short.status) == ("platform_only", "open")
    import_file(own, "bank", without)  # its own day again, still without: the same exception
    [again] = exceptions_for(own, reference)
    assert (again.id, again.match_class, again.status) == (short.id, "platform_only", "open")
    run_day(own, "bank")  # the bank's own statement shows the debit: released
    assert [e.status for e in exceptions_for(own, reference)] == ["released"]
    assert _line(own, reference).match_class == "matched"
    _checks_hold(own)


def test_in_the_demo_the_bank_pays_each_transfer_finance_records(own):
    refund_no = _transfer_refund(own, 1_500)
    _recorded(own, refund_no)  # nobody posts to /emulator/bank/transfers: finance's visit
    run_day(own, "bank")
    line = _line(own, f"REFUND:{refund_no}")
    assert (line.match_class, line.amount_fen) == ("matched", 1_500)
    assert exceptions_for(own, f"REFUND:{refund_no}") == []
    _checks_hold(own)


def test_the_payable_page_names_the_lines_its_payment_and_refund_were_reconciled_on(own):
    refund_no = _transfer_refund(own, 800)
    _recorded(own, refund_no)
    run_day(own, "counter")
    run_day(own, "bank")
    with own.container.engines.read.connect() as conn:
        code, unit_id = conn.execute(
            select(payables.c.payment_code, payables.c.unit_id)
            .join(refunds, refunds.c.payable_id == payables.c.id)
            .where(refunds.c.refund_no == refund_no)
        ).one()
    base = own.info["base_url"]
    with logged_in(base, make_user(own, "finance_reviewer")) as client:
        page = client.get(f"/console/payables/{code}")
    assert page.status_code == 200
    section = page.text[page.text.index('id="statement-lines"') :]
    assert "银行柜面" in section  # the counter statement's payment line
    assert "汇缴户银行流水" in section  # the collection account's refund debit
    assert refund_no in section
    assert f"/console/reconciliation/bank/{today().isoformat()}" in section
    with logged_in(base, make_user(own, "unit_admin", unit_id=unit_id)) as client:
        unit_page = client.get(f"/console/payables/{code}")
    assert unit_page.status_code == 200
    assert 'id="statement-lines"' not in unit_page.text  # reconciliation is finance's


def _box(stack: Stack, source: str, day: date) -> Any:
    with stack.container.engines.read.connect() as conn:
        return day_boxes(conn, [day])[(source, day)]


def test_a_worked_exception_turns_the_days_box_green_at_once(own):
    day = today() - timedelta(days=5)
    debit = Movement("B-X1", f"{day} 10:00:00", "D", 700, "某人", "REFUND:R-NOBODY-0002")
    import_file(own, "bank", render(ACCOUNT, day, [debit]), day)
    box = _box(own, "bank", day)
    assert (box.status, box.open, box.settled, box.lines) == ("exceptions", 1, 0, 1)
    [item] = exceptions_for(own, "B-X1")
    c = own.container

    def resolve() -> None:
        resolve_exception(c.uow, c.gateways, item.id, Action.ACCEPT, "银行误付，已由银行退回",
                          actor="user:li", clock=c.clock)  # fmt: skip

    resolve()
    review_exception(c.uow(), item.id, False, actor="user:wang", clock=c.clock)  # sent back
    assert (_box(own, "bank", day).status, _box(own, "bank", day).open) == ("exceptions", 1)
    resolve()
    review_exception(c.uow(), item.id, True, actor="user:wang", clock=c.clock)
    box = _box(own, "bank", day)  # no run of the day in between
    assert (box.status, box.open, box.settled, box.lines) == ("reconciled", 0, 1, 1)
    with logged_in(own.info["base_url"], make_user(own, "finance_reviewer")) as client:
        overview = client.get(f"/console/reconciliation?end={day.isoformat()}")
        page = client.get(f"/console/reconciliation/bank/{day.isoformat()}")
    assert f'day-reconciled" data-source="bank" data-day="{day.isoformat()}"' in overview.text
    assert 'id="settled">0 / 1<' in page.text
    assert "已对平" in page.text
    _checks_hold(own)


def test_the_demo_cashiers_deposit_slips_reach_the_bank(own):
    from publicpay.demo.activity import DemoActivity
    from publicpay.demo.cash_office import seed_cash_office
    from publicpay.services.shifts.deposits import deposits_for_matching

    activity = DemoActivity(own.info)
    try:
        seed_cash_office(own.container, activity.cash_payable)  # window 01 closes balanced
    finally:
        activity.http.close()
    [deposit] = deposits_for_matching(own.container.read_uow(), on=today())
    run_day(own, "bank")
    assert _line(own, deposit.deposit_no).match_class == "matched"
    [credited] = deposits_for_matching(own.container.read_uow(), on=today())
    assert credited.status.value == "credited"
    assert exceptions_for(own, deposit.deposit_no) == []  # never held, never short
    _checks_hold(own)
