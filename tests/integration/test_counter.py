"""Bank counter (spec B1): a bank teller queries, confirms, reverses and downloads its statement
over the signed bank API, against the whole platform served over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.tables import (
    inbox,
    ledger_journals,
    ledger_postings,
    payables,
    payment_orders,
)
from publicpay.demo.stack import Stack
from publicpay.domain.codes import make_payment_code
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.emulators.bank import BankTeller
from tests.conftest import payable_body
from tests.support.client import SignedClient

PLATE_FEE_FEN = 10_000  # GA0101 汽车号牌, 100 元 a pair


@pytest.fixture(scope="module")
def teller(stack: Stack) -> BankTeller:
    bank = stack.info["bank"]
    return BankTeller(str(stack.info["base_url"]), bank["app_id"], bank["app_secret"])


@pytest.fixture(scope="module")
def bank_api(stack: Stack) -> SignedClient:
    bank = stack.info["bank"]
    return SignedClient(str(stack.info["base_url"]), bank["app_id"], bank["app_secret"])


def register(api: SignedClient, payer: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/payables", payable_body(payer, **extra))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def serial() -> str:
    return "S" + uuid.uuid4().hex[:20].upper()


def snapshot(stack: Stack) -> dict[str, Any]:
    with stack.container.read_uow() as uow:
        conn = uow.connection
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (payment_orders, ledger_journals, ledger_postings, inbox)
        }
        counts["statuses"] = sorted(
            (row.payment_code, row.status) for row in conn.execute(select(payables))
        )
    return counts


def ledger_of(stack: Stack, payment_code: str) -> dict[str, int]:
    with stack.container.read_uow() as uow:
        stmt = (
            select(ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen))
            .select_from(ledger_postings.join(ledger_journals))
            .join(payables, payables.c.id == ledger_journals.c.payable_id)
            .where(payables.c.payment_code == payment_code)
            .group_by(ledger_postings.c.account)
        )
        return {account: int(total) for account, total in uow.connection.execute(stmt)}


def events_of(api: SignedClient, payment_code: str) -> list[dict[str, Any]]:
    found, cursor = [], 0
    while True:
        page = api.get(f"/api/v1/events?after={cursor}&limit=500").json()
        found += [e for e in page["events"] if e["data"].get("payment_code") == payment_code]
        if not page["events"]:
            return found
        cursor = page["next_cursor"]


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    return data


class ShiftedClock:
    def __init__(self, delta: timedelta) -> None:
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


@contextmanager
def platform_time_shifted(stack: Stack, delta: timedelta) -> Iterator[int]:
    """Move the platform's clock; yields the matching X-Timestamp for signed requests."""
    original = stack.container.clock
    stack.container.clock = ShiftedClock(delta)  # type: ignore[assignment]
    try:
        yield int((datetime.now(UTC) + delta).timestamp())
    finally:
        stack.container.clock = original


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


def test_reversal_of_a_refunded_payment_is_refused(
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    bank_serial = serial()
    teller.confirm(code, PLATE_FEE_FEN, bank_serial)
    with stack.container.uow() as uow:  # as the refund flow (F1) leaves it
        uow.connection.execute(
            update(payables).where(payables.c.payment_code == code).values(status="refunded")
        )
        uow.commit()
    before = snapshot(stack)
    assert "退款" in problem_of(teller.reverse(bank_serial), 409)["detail"]
    assert snapshot(stack) == before


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
    stack: Stack, teller: BankTeller, api: SignedClient, payer: dict[str, str]
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
    problem_of(teller._send("GET", "/api/v1/counter/statements/2026-02-30"), 422)


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
