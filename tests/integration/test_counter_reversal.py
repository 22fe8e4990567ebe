"""Bank counter (spec B1): same-day reversal (冲正) and the daily statement file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from publicpay.adapters.db.ledger import ledger_journals
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.demo.stack import Stack
from publicpay.domain.time import SHANGHAI
from publicpay.emulators.bank import BankTeller
from publicpay.services.payments.recovery import recover_order
from tests.integration.counter_kit import (
    PLATE_FEE_FEN,
    bank_teller,
    cut_short_confirm,
    events_of,
    ledger_of,
    platform_time_shifted,
    problem_of,
    register,
    serial,
    snapshot,
)
from tests.support.client import SignedClient


@pytest.fixture(scope="module")
def teller(stack: Stack) -> BankTeller:
    return bank_teller(stack)


@pytest.fixture(scope="module")
def bank_api(stack: Stack) -> SignedClient:
    bank = stack.info["bank"]
    return SignedClient(str(stack.info["base_url"]), bank["app_id"], bank["app_secret"])


def test_same_day_reversal_restores_unpaid_and_negates_the_journal(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    reversed_ = teller.reverse(bank_serial, "柜员输错金额")
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["status"] == "reversed"
    assert teller.query(code).json()["status"] == "unpaid"
    assert set(ledger_of(stack, code).values()) == {0}
    with stack.container.read_uow() as uow:
        kinds = uow.connection.execute(
            select(ledger_journals.c.kind)
            .join(payables, payables.c.id == ledger_journals.c.payable_id)
            .where(payables.c.payment_code == code)
            .order_by(ledger_journals.c.id)
        )
        assert [k for (k,) in kinds] == ["payment", "reversal"]
    types = [e["type"] for e in events_of(api, code)]
    assert types[-2:] == ["payable.paid", "payable.reversed"]
    assert teller.pay(code)["status"] == "paid"  # the payer can pay again


def test_reversal_is_idempotent(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    first = teller.reverse(bank_serial)
    before = snapshot(stack)
    again = teller.reverse(bank_serial)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert snapshot(stack) == before
    problem = problem_of(teller.confirm(code, PLATE_FEE_FEN, bank_serial), 409)
    assert "冲正" in problem["detail"]


def test_reversal_on_the_next_business_day_is_refused(
    stack: Stack, bank_api: SignedClient, teller: BankTeller, api: SignedClient, payer: dict
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    before = snapshot(stack)
    with platform_time_shifted(stack, timedelta(days=1)) as ts:
        response = bank_api.post(
            "/api/v1/counter/reversals", {"bank_serial": bank_serial, "reason": "晚了"}, ts=ts
        )
    assert "当日" in problem_of(response, 409)["detail"]
    assert snapshot(stack) == before
    assert teller.query(code).json()["status"] == "paid"


def test_reversal_of_an_unknown_serial_is_not_found(stack: Stack, teller: BankTeller) -> None:
    before = snapshot(stack)
    problem_of(teller.reverse(serial()), 404)
    assert snapshot(stack) == before


def test_statement_lists_payments_and_reversals_of_the_day(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    kept, undone = serial(), serial()
    code_kept = register(api, payer)["payment_code"]
    code_undone = register(api, payer)["payment_code"]
    teller.confirm(code_kept, PLATE_FEE_FEN, kept)
    teller.confirm(code_undone, PLATE_FEE_FEN, undone)
    teller.reverse(undone)
    today = datetime.now(SHANGHAI).date()
    response = teller.statement(today)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = teller.statement_rows(today)
    assert rows[0] == ["bank_serial", "payment_code", "amount", "paid_at", "status"]
    body = rows[1:-2]
    assert [kept, code_kept, "100.00"] == body[[r[0] for r in body].index(kept)][:3]
    mine = [(r[0], r[2], r[4]) for r in body if r[0] == undone]
    assert mine == [(undone, "100.00", "paid"), (undone, "-100.00", "reversed")]
    assert rows[-2] == ["count", str(len(body))]
    net = sum(
        int(r[2].replace(".", "").replace("-", "")) * (-1 if "-" in r[2] else 1) for r in body
    )
    assert rows[-1] == ["total", f"{net // 100}.{net % 100:02d}"]


def test_statement_of_another_bank_or_a_future_day(
    stack: Stack,
    teller: BankTeller,
    bank_api: SignedClient,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    with stack.container.uow() as uow:
        uow.units.add_client(
            "bank_other", "bank", None, "other_secret_0123456789", datetime.now(UTC)
        )
        uow.commit()
    other = BankTeller(str(stack.info["base_url"]), "bank_other", "other_secret_0123456789")
    teller.pay(register(api, payer)["payment_code"])
    today = datetime.now(SHANGHAI).date()
    assert other.statement_rows(today) == [
        ["bank_serial", "payment_code", "amount", "paid_at", "status"],
        ["count", "0"],
        ["total", "0.00"],
    ]
    problem_of(teller.statement(today + timedelta(days=1)), 422)
    problem_of(bank_api.get("/api/v1/counter/statements/2026-02-30"), 422)


def test_invariants_hold_for_counter_payments_and_reversals(stack: Stack) -> None:
    with stack.container.read_uow() as uow:
        report = run_checks(uow.connection)
        mine = {
            ref
            for row in uow.connection.execute(
                select(payment_orders.c.order_no, payables.c.payment_code)
                .join(payables, payables.c.id == payment_orders.c.payable_id)
                .where(payment_orders.c.channel == "counter")
            )
            for ref in row
        }
    assert mine
    assert [v for v in report.violations if any(ref in v for ref in mine)] == []


def test_recovery_leaves_a_cut_short_counter_order_to_the_bank(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    cut_short_confirm(stack, code, teller.app_id, bank_serial)
    c = stack.container
    with c.read_uow() as uow:
        stored = uow.inbox.request("counter", f"{teller.app_id}:{bank_serial}")
    assert stored is not None
    assert recover_order(c.uow, c.gateways, stored.order_no, clock=c.clock) == 0
    assert teller.query(code).json()["status"] == "unpaid"
    assert teller.confirm(code, PLATE_FEE_FEN, bank_serial).json()["status"] == "paid"
