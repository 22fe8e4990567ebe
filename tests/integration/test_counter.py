"""Bank counter (spec B1): a bank teller queries and confirms over the signed bank API,
against the whole platform served over HTTP. Reversals and statements: test_counter_reversal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.demo.stack import Stack
from publicpay.domain.codes import make_payment_code
from publicpay.domain.time import business_date
from publicpay.emulators.bank import BankTeller
from tests.conftest import payable_body
from tests.integration.counter_kit import (
    PLATE_FEE_FEN,
    bank_teller,
    cut_short_confirm,
    events_of,
    ledger_of,
    problem_of,
    register,
    serial,
    snapshot,
)
from tests.support.client import SignedClient


@pytest.fixture(scope="module")
def teller(stack: Stack) -> BankTeller:
    return bank_teller(stack)


def test_teller_query_shows_payable_with_masked_payer(
    teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    found = teller.query(created["payment_code"])
    assert found.status_code == 200
    data = found.json()
    assert data["status"] == "unpaid"
    assert data["payable"] is True
    assert data["amount_due_fen"] == PLATE_FEE_FEN
    assert data["late_fee_fen"] == 0
    assert data["unit_name"] == "杭州市公安局交通警察支队车辆管理所"
    assert data["payer"]["name"] == payer["name"][0] + "*"
    assert payer["id_no"] not in found.text
    assert [line["item_code"] for line in data["lines"]] == ["GA0101"]


def test_query_of_a_fine_past_due_includes_the_late_fee(
    teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    today = business_date(datetime.now(UTC))
    body = payable_body(payer, item="FM0101", due_date=(today - timedelta(days=2)).isoformat())
    body["items"][0]["amount_fen"] = 20_000
    created = api.post("/api/v1/payables", body).json()
    data = teller.query(created["payment_code"]).json()
    assert data["amount_fen"] == 20_000
    assert data["late_fee_fen"] == 1_200  # 3 % a day for 2 days
    assert data["amount_due_fen"] == 21_200


def test_query_with_a_mistyped_code_is_refused_by_the_check_digit(
    teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    mistyped = code[:-2] + str((int(code[-2]) + 1) % 10) + code[-1]
    problem = problem_of(teller.query(mistyped), 422)
    assert "校验位" in problem["detail"]


def test_query_of_an_unknown_code_is_not_found(teller: BankTeller) -> None:
    unknown = make_payment_code("330105", 2026, "01", 999_999_999)
    assert problem_of(teller.query(unknown), 404)["status"] == 404


def test_unit_credentials_cannot_use_the_bank_api(api: SignedClient, payer: dict) -> None:
    code = register(api, payer)["payment_code"]
    assert problem_of(api.get(f"/api/v1/counter/payables/{code}"), 401)["status"] == 401


def test_counter_payment_marks_paid_and_books_the_counter_receivable(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    confirmed = teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    assert confirmed.status_code == 200, confirmed.text
    data = confirmed.json()
    assert data["status"] == "paid"
    assert data["bank_serial"] == bank_serial
    assert data["amount_fen"] == PLATE_FEE_FEN
    payable = api.get(f"/api/v1/payables/{code}").json()
    assert payable["status"] == "paid"
    assert payable["channel"] == "counter"
    assert payable["paid_fen"] == PLATE_FEE_FEN
    with stack.container.read_uow() as uow:
        order = uow.orders.by_no(data["order_no"])
    assert order is not None
    assert (order.channel, order.method.value, order.status.value) == (
        "counter",
        "counter",
        "succeeded",
    )
    assert order.channel_trade_no == bank_serial
    ledger = ledger_of(stack, code)
    assert ledger["channel_receivable:counter"] == PLATE_FEE_FEN
    assert sum(ledger.values()) == 0


def test_counter_payment_emits_payable_paid(
    teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    teller.pay(code)
    paid = [e for e in events_of(api, code) if e["type"] == "payable.paid"]
    assert len(paid) == 1
    assert paid[0]["data"]["channel"] == "counter"
    assert paid[0]["data"]["paid_fen"] == PLATE_FEE_FEN


def test_confirm_is_idempotent_on_the_bank_serial(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    first = teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    before = snapshot(stack)
    again = teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert snapshot(stack) == before


@pytest.mark.parametrize("attempt", range(10))
def test_concurrent_confirms_with_other_serials_book_one_payment_and_refuse_the_rest(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str], attempt: int
) -> None:
    """Four tellers confirm one payable at the same moment with their own serials: the one that
    takes the payable's lock first is booked; the others wait, find it paid and are refused
    (409) before anything is stored — no second order, no duplicate to refund."""
    code = register(api, payer)["payment_code"]
    serials = [serial() for _ in range(4)]
    before = snapshot(stack)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda s: teller.confirm(code, PLATE_FEE_FEN, s), serials))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    after = snapshot(stack)
    assert after["payment_orders"] == before["payment_orders"] + 1
    assert after["ledger_journals"] == before["ledger_journals"] + 1
    assert ledger_of(stack, code)["channel_receivable:counter"] == PLATE_FEE_FEN
    assert [e["type"] for e in events_of(api, code)].count("payable.paid") == 1


def test_concurrent_confirms_with_one_serial_book_one_payment(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: teller.confirm(code, PLATE_FEE_FEN, bank_serial), range(2))
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    with stack.container.read_uow() as uow:
        orders = uow.connection.execute(
            select(func.count())
            .select_from(payment_orders)
            .where(payment_orders.c.channel_trade_no == bank_serial)
        ).scalar_one()
    assert orders == 1
    assert ledger_of(stack, code)["channel_receivable:counter"] == PLATE_FEE_FEN


def test_a_repeated_confirm_finishes_one_cut_short(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    cut_short_confirm(stack, code, teller.app_id, bank_serial)
    assert teller.query(code).json()["status"] == "unpaid"
    again = teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "paid"
    assert teller.query(code).json()["status"] == "paid"


def test_a_reversal_after_a_cut_short_confirm_undoes_it(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    cut_short_confirm(stack, code, teller.app_id, bank_serial)
    assert teller.reverse(bank_serial, "确认超时").status_code == 200
    assert teller.query(code).json()["status"] == "unpaid"
    assert set(ledger_of(stack, code).values()) == {0}


def test_same_serial_with_another_body_is_refused_and_changes_nothing(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    other = register(api, payer)["payment_code"]
    bank_serial = serial()
    teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    before = snapshot(stack)
    problem = problem_of(teller.confirm(other, PLATE_FEE_FEN, bank_serial), 409)
    assert bank_serial in problem["detail"]
    assert snapshot(stack) == before
    assert teller.query(other).json()["status"] == "unpaid"


def test_wrong_amount_is_refused_and_changes_nothing(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    before = snapshot(stack)
    problem = problem_of(teller.confirm(code, PLATE_FEE_FEN - 1, serial()), 422)
    assert "amount_fen" in problem["errors"]
    assert snapshot(stack) == before
    assert teller.query(code).json()["status"] == "unpaid"


def test_confirm_for_unknown_or_mistyped_code_is_refused(stack: Stack, teller: BankTeller) -> None:
    before = snapshot(stack)
    unknown = make_payment_code("330105", 2026, "01", 999_999_998)
    problem_of(teller.confirm(unknown, PLATE_FEE_FEN, serial()), 404)
    problem_of(teller.confirm(unknown[:-1] + "x", PLATE_FEE_FEN, serial()), 422)
    assert snapshot(stack) == before


def test_paid_payable_shows_paid_and_a_new_confirm_is_refused_before_booking(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    teller.pay(code)
    query = teller.query(code).json()
    assert (query["status"], query["payable"], query["status_label"]) == ("paid", False, "已缴款")
    before = snapshot(stack)
    problem = problem_of(teller.confirm(code, PLATE_FEE_FEN, serial()), 409)
    assert "已缴款" in problem["detail"]
    assert snapshot(stack) == before


def test_bank_emulator_pays_through_its_demo_endpoint(
    base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    response = httpx.post(f"{base_url}/emulator/bank/pay", json={"payment_code": code})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "paid"
    again = httpx.post(f"{base_url}/emulator/bank/pay", json={"payment_code": code})
    assert again.status_code == 409
    assert api.get(f"/api/v1/payables/{code}").json()["channel"] == "counter"


def test_bank_api_is_in_the_openapi_document(base_url: str) -> None:
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert {
        "/api/v1/counter/payables/{payment_code}",
        "/api/v1/counter/payments",
        "/api/v1/counter/reversals",
        "/api/v1/counter/statements/{day}",
        "/api/v1/pos/cash-payments",
    } <= set(paths)


def test_confirm_keeps_the_banks_paid_at_and_refuses_one_out_of_range(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    before = snapshot(stack)
    too_old = datetime.now(UTC) - timedelta(days=2)
    problem = problem_of(teller.confirm(code, PLATE_FEE_FEN, serial(), paid_at=too_old), 422)
    assert "paid_at" in problem["errors"]
    assert snapshot(stack) == before
    at = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
    answer = teller.confirm(code, PLATE_FEE_FEN, serial(), paid_at=at).json()
    assert datetime.fromisoformat(answer["paid_at"]) == at
    assert datetime.fromisoformat(api.get(f"/api/v1/payables/{code}").json()["paid_at"]) == at
