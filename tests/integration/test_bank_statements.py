"""The emulated collecting bank produces the counter statement and the collection account's
statement from what really happened (teller payments and reversals, channel settlements as each
channel settles, cash deposits, transfers, clearing to the treasury); the platform fetches them
over HTTP (signed), T+1 with retries until published; the worker clears a fully reconciled day
once per cluster. On a platform of its own, so that the bank's days hold only this file's
movements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import Any

import httpx
import pytest

from publicpay.adapters.reconciliation.engine import PolarsEngine
from publicpay.demo.stack import Stack
from publicpay.domain.reconciliation import Source
from publicpay.services.reconciliation.clearing import clear_due
from publicpay.services.reconciliation.reconcile import RETRY_AFTER, reconcile_due
from tests.integration.counter_kit import bank_teller
from tests.integration.recon_kit import FixedClock, beijing, own_stack, run_day, today, unit_api
from tests.integration.test_payment_flow import pay_with_alipay, register

ACCOUNT = "33050161000000000077"


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT) as built:
        yield built


def _bank(stack: Stack, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.info['base_url']}/emulator/bank{path}", json=body, timeout=10)


def _lines(stack: Stack, source: Source, day: date) -> list[Any]:
    with stack.container.read_uow() as uow:
        record = uow.reconciliation.day(source, day)
        assert record is not None
        assert record.statement_id is not None
        stored = uow.reconciliation.active_statement(source, day)
    assert stored is not None
    return [line.split(",") for line in stored.content.decode("utf-8-sig").splitlines()[2:-1]]


def test_the_counter_statement_is_the_banks_own_record_fetched_over_http(own):
    api, payer, teller = unit_api(own), own.info["payers"][0], bank_teller(own)
    kept = register(api, payer)["payment_code"]
    reversed_ = register(api, payer)["payment_code"]
    paid = teller.pay(kept)
    taken = teller.pay(reversed_)
    assert teller.reverse(taken["bank_serial"]).status_code == 200
    day = run_day(own, "counter")
    assert day.status == "reconciled", day.counts
    assert day.lines == 3  # two payments and one reversal, as the bank booked them
    assert day.counts == {"matched": 3}
    content = own.bank.counter_statement(today()).decode("utf-8-sig")
    assert paid["bank_serial"] in content
    assert f"{taken['bank_serial']},{reversed_}," in content
    assert ",reversed" in content


def test_the_banks_statements_refuse_an_unsigned_request(own):
    base = own.info["base_url"]
    url = f"{base}/emulator/bank/statements/collection/{today().isoformat()}"
    assert httpx.get(url, timeout=10).status_code == 401
    forged = {"X-Account": ACCOUNT, "X-Timestamp": "1", "X-Nonce": "n" * 16, "X-Signature": "x"}
    assert httpx.get(url, headers=forged, timeout=10).status_code == 401


def test_the_collection_account_shows_deposits_transfers_and_unidentified_credits(own):
    assert _bank(own, "/deposits", {"deposit_no": "JK-T-0001", "amount_fen": 35_000}).is_success
    assert _bank(own, "/credits", {"amount_fen": 20_000, "counterparty": "张三"}).is_success
    refund = {"reference": "REFUND:R-T-0001", "amount_fen": 5_000, "payee": "李四"}
    assert _bank(own, "/transfers", refund).is_success
    day = run_day(own, "bank")
    rows = _lines(own, Source.BANK, today())
    by_reference = {row[5]: row for row in rows}
    assert by_reference["JK-T-0001"][2:4] == ["C", "350.00"]
    assert by_reference["汇款"][2:5] == ["C", "200.00", "张三"]
    assert by_reference["REFUND:R-T-0001"][2:4] == ["D", "50.00"]
    assert day.counts.get("unknown_credit", 0) >= 1  # the wire nobody identified: 不明款


def test_channel_settlements_reach_the_account_next_day_as_each_channel_settles(own):
    api, payer = unit_api(own), own.info["payers"][0]
    pay_with_alipay(own, register(api, payer)["payment_code"])
    alipay = run_day(own, "alipay")
    counter = run_day(own, "counter")
    assert alipay.fee_fen > 0  # Alipay keeps its service fee: it settles net
    tomorrow = today() + timedelta(days=1)
    bank = own.bank
    assert bank is not None
    real_now = bank.now
    bank.now = lambda: beijing(tomorrow, time(12, 0))
    try:
        day = run_day(own, "bank", tomorrow)
    finally:
        bank.now = real_now
    rows = {row[5]: row for row in _lines(own, Source.BANK, tomorrow)}
    ali = rows[f"SETTLE:alipay:{today().isoformat()}"]
    assert ali[2] == "C"
    assert ali[3] == _yuan(alipay.gross_fen - alipay.fee_fen)
    takings = rows[f"SETTLE:counter:{today().isoformat()}"]
    assert takings[3] == _yuan(counter.gross_fen)  # the counter's takings: gross
    assert day.counts.get("matched", 0) >= 2, day.counts


def test_a_day_unpublished_at_the_bank_is_missing_then_fetched_once_published(own):
    c = own.container
    yesterday = today() - timedelta(days=1)
    assert _bank(own, "/faults", {"mode": "unpublished"}).is_success
    try:
        clock = FixedClock(beijing(today(), time(10, 30)))
        ran = reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=clock)
        assert ran == 6  # five channel sources (the card acquirer's too) and the bank, once
        with c.read_uow() as uow:
            missing = uow.reconciliation.day(Source.BANK, yesterday)
        assert missing is not None
        assert missing.status == "missing"
        assert reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=clock) == 0
    finally:
        assert _bank(own, "/faults", {"mode": "published"}).is_success
    retry = FixedClock(clock.moment + RETRY_AFTER + timedelta(minutes=1))
    assert reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=retry) >= 1
    with c.read_uow() as uow:
        fetched = uow.reconciliation.day(Source.BANK, yesterday)
    assert fetched is not None
    assert fetched.status != "missing"


def test_the_worker_clears_a_reconciled_day_once_per_cluster(own):
    c, day = own.container, today()
    for source in ("alipay", "wechat", "unionpay", "counter"):
        run_day(own, source)
    clock = FixedClock(beijing(day + timedelta(days=1), time(11, 30)))
    assert clear_due(c.uow, c.treasury(), ACCOUNT, clock=clock) == 0  # the card day: not run
    run_day(own, "card")
    early = FixedClock(beijing(day + timedelta(days=1), time(9, 0)))
    assert clear_due(c.uow, c.treasury(), ACCOUNT, clock=early) == 0
    assert clear_due(c.uow, c.treasury(), ACCOUNT, clock=clock) == 1
    with c.read_uow() as uow:
        window = uow.clearing.window(day, ACCOUNT)
        assert window is not None
        assert window.status.value == "confirmed"
        assert not uow.clearing.claim_run(day, ACCOUNT, clock.now(), timedelta(minutes=30))
    assert clear_due(c.uow, c.treasury(), ACCOUNT, clock=clock) == 0  # another worker: nothing
    # the treasury confirmed: the bank transferred the sum out of the collection account
    debits = [m for m in own.bank.movements(day) if m.reference == f"CLEARING:{window.id}"]
    assert [(m.direction, m.amount_fen) for m in debits] == [("D", window.total_fen)]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
