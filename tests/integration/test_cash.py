"""Cash at the window (spec W2): a window device books a cash payment and gets the change due,
over the signed device API, against the whole platform served over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.demo.stack import Stack
from publicpay.services.payments.cash import record_cash_payment
from tests.conftest import payable_body
from tests.integration.counter_kit import PLATE_FEE_FEN, problem_of, snapshot
from tests.support.client import SignedClient

PATH = "/api/v1/pos/cash-payments"


@pytest.fixture(scope="module")
def pos(stack: Stack) -> SignedClient:
    device = stack.info["kiosk"]
    return SignedClient(str(stack.info["base_url"]), device["device_id"], device["device_secret"])


def register(api: SignedClient, payer: dict[str, str]) -> str:
    response = api.post("/api/v1/payables", payable_body(payer))
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def cash(code: str, received_fen: int, **extra: Any) -> dict[str, Any]:
    return {
        "payment_code": code,
        "received_fen": received_fen,
        "cashier": "收费员01",
        "client_serial": "C" + uuid.uuid4().hex[:16],
        **extra,
    }


def test_cash_payment_books_the_amount_due_and_returns_change(
    stack: Stack, pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    response = pos.post(PATH, cash(code, 15_000))
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["status"], data["amount_fen"], data["received_fen"], data["change_fen"]) == (
        "paid",
        PLATE_FEE_FEN,
        15_000,
        5_000,
    )
    payable = api.get(f"/api/v1/payables/{code}").json()
    assert (payable["status"], payable["channel"], payable["paid_fen"]) == (
        "paid",
        "cash",
        PLATE_FEE_FEN,
    )
    with stack.container.read_uow() as uow:
        order = uow.orders.by_no(data["order_no"])
        debit = uow.connection.execute(
            select(func.sum(ledger_postings.c.amount_fen))
            .join(ledger_journals)
            .where(
                ledger_journals.c.ref == data["order_no"],
                ledger_postings.c.account == "channel_receivable:cash",
            )
        ).scalar_one()
    assert order is not None
    assert (order.channel, order.method.value) == ("cash", "cash")
    assert debit == PLATE_FEE_FEN


def test_exact_cash_gives_no_change(
    pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    data = pos.post(PATH, cash(register(api, payer), PLATE_FEE_FEN)).json()
    assert data["change_fen"] == 0


def test_cash_less_than_due_is_refused_and_changes_nothing(
    stack: Stack, pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    before = snapshot(stack)
    problem = problem_of(pos.post(PATH, cash(code, PLATE_FEE_FEN - 1)), 422)
    assert "received_fen" in problem["errors"]
    assert snapshot(stack) == before


def test_cash_is_idempotent_on_the_client_serial(
    stack: Stack, pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    body = cash(register(api, payer), 20_000)
    first = pos.post(PATH, body)
    before = snapshot(stack)
    again = pos.post(PATH, body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert snapshot(stack) == before


def test_same_client_serial_with_another_body_is_refused(
    stack: Stack, pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    body = cash(register(api, payer), 20_000)
    pos.post(PATH, body)
    before = snapshot(stack)
    problem_of(pos.post(PATH, {**body, "received_fen": 30_000}), 409)
    assert snapshot(stack) == before


def test_cash_for_a_paid_payable_is_refused(
    stack: Stack, pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pos.post(PATH, cash(code, PLATE_FEE_FEN))
    before = snapshot(stack)
    assert "已缴款" in problem_of(pos.post(PATH, cash(code, PLATE_FEE_FEN)), 409)["detail"]
    assert snapshot(stack) == before


def test_cash_payment_emits_payable_paid(
    pos: SignedClient, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pos.post(PATH, cash(code, PLATE_FEE_FEN))
    found, cursor = [], 0
    while page := api.get(f"/api/v1/events?after={cursor}&limit=500").json()["events"]:
        found += [e for e in page if e["data"].get("payment_code") == code]
        cursor = page[-1]["cursor"]
    assert [(e["type"], e["data"]["channel"]) for e in found if e["type"] == "payable.paid"] == [
        ("payable.paid", "cash")
    ]


def test_bank_credentials_cannot_take_cash(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    bank = stack.info["bank"]
    client = SignedClient(str(stack.info["base_url"]), bank["app_id"], bank["app_secret"])
    problem_of(client.post(PATH, cash(register(api, payer), PLATE_FEE_FEN)), 401)


def test_record_cash_payment_service_without_a_serial(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    paid = record_cash_payment(
        stack.container.uow(),
        code,
        cashier="窗口3",
        received_fen=10_050,
        clock=stack.container.clock,
    )
    assert (paid.amount_fen, paid.change_fen, paid.duplicate) == (PLATE_FEE_FEN, 50, False)
    assert paid.paid_at <= datetime.now(UTC)
