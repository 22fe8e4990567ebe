"""The cash office over HTTP: a cashier opens a shift in the console, the window's POS takes
cash and a barcode payment inside it, the cashier closes with a difference, a supervisor of the
unit confirms it; the deposit slip, the ledger (drawer → in transit → collection account), the
reports and their exports, and the refusals (someone else's shift, a shift closed twice, a
payment without an open shift, the cashier confirming their own difference)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.shifts import shifts as shifts_table
from publicpay.demo.stack import Stack
from publicpay.domain.ledger import CASH_IN_DRAWER, CASH_IN_TRANSIT, CASH_OVER_SHORT, COLLECTION
from publicpay.domain.shifts import SHIFT_STATUS_LABELS, ShiftStatus
from publicpay.domain.time import business_date
from publicpay.services.shifts.deposits import (
    CreditDeposit,
    credit_deposit,
    deposits_for_matching,
)
from tests.conftest import payable_body
from tests.integration.cash_office_kit import new_window
from tests.integration.channel_kit import barcode
from tests.integration.console_kit import ConsoleUser, audit_rows, csrf_of, logged_in, make_user
from tests.integration.counter_kit import snapshot
from tests.support.client import SignedClient


def _vmo_users(stack: Stack) -> tuple[ConsoleUser, ConsoleUser, ConsoleUser]:
    with stack.container.read_uow() as uow:
        unit_id = next(s.unit_id for s in uow.units.sites() if s.code == "CG-HALL")
    assert unit_id is not None
    cashier = make_user(stack, "cashier", unit_id=unit_id)
    other = make_user(stack, "cashier", unit_id=unit_id)
    supervisor = make_user(stack, "unit_admin", unit_id=unit_id)
    return cashier, other, supervisor


def _open(client: httpx.Client, window_id: int, opening_float: str = "500.00") -> httpx.Response:
    page = client.get("/console/shifts")
    assert page.status_code == 200, page.text
    form = {"csrf": csrf_of(page.text), "window_id": str(window_id), "opening_float": opening_float}
    return client.post("/console/shifts/open", data=form)


def _close(client: httpx.Client, shift_id: int, pieces: dict[str, int]) -> httpx.Response:
    page = client.get("/console/shifts")
    form: dict[str, Any] = {"csrf": csrf_of(page.text), "note": "交班", **pieces}
    return client.post(f"/console/shifts/{shift_id}/close", data=form)


def _shift_of(stack: Stack, window_id: int) -> Any:
    with stack.container.read_uow() as uow:
        stmt = select(shifts_table).where(shifts_table.c.window_id == window_id)
        return uow.connection.execute(stmt.order_by(shifts_table.c.id.desc())).first()


def _balances(stack: Stack) -> dict[str, int]:
    with stack.container.read_uow() as uow:
        return uow.ledger.balances()


def _cash(pos: SignedClient, code: str) -> httpx.Response:
    body = {"payment_code": code, "received_fen": 20_000, "cashier": "收费员",
            "client_serial": uuid.uuid4().hex[:16]}  # fmt: skip
    return pos.post("/api/v1/pos/cash-payments", body)


def test_a_cashier_closes_with_a_difference_and_a_supervisor_confirms_it(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    window_id, pos = new_window(stack)
    cashier, _other, supervisor = _vmo_users(stack)
    base = str(stack.info["base_url"])
    before = _balances(stack)
    with logged_in(base, cashier) as client:
        assert _open(client, window_id).status_code == 303
        cash_code = api.post("/api/v1/payables", payable_body(payer)).json()
        assert _cash(pos, cash_code["payment_code"]).status_code == 200
        card_code = api.post("/api/v1/payables", payable_body(payer)).json()["payment_code"]
        scanned = {"payment_code": card_code, "auth_code": barcode(stack, "alipay")}
        paid = pos.post("/api/v1/pos/barcode-payments", scanned)
        assert paid.json()["status"] == "succeeded", paid.text
        page = client.get("/console/shifts")
        assert "本班收款" in page.text
        assert "付款码" in page.text
        cash_fen = cash_code["amount_fen"]
        shift = _shift_of(stack, window_id)
        # counted: the 500.00 float and the cash, less 10.00 (one 10-yuan note short)
        pieces = {"d10000": 5, "d1000": cash_fen // 1000 - 1, "d100": cash_fen % 1000 // 100}
        assert cash_fen % 100 == 0
        closed = _close(client, shift.id, pieces)
        assert closed.status_code == 303, closed.text
        detail = client.get(closed.headers["location"])
        assert SHIFT_STATUS_LABELS[ShiftStatus.AWAITING_CONFIRMATION] in detail.text
        assert "短款 ¥10.00" in detail.text
        refused = client.post(f"/console/shifts/{shift.id}/confirm",
                              data={"csrf": csrf_of(detail.text), "note": "本人确认"})  # fmt: skip
        assert refused.status_code == 403
    assert _shift_of(stack, window_id).status == ShiftStatus.AWAITING_CONFIRMATION.value
    with logged_in(base, supervisor) as client:
        queue = client.get("/console/shifts")
        assert f'href="/console/shifts/{shift.id}"' in queue.text
        detail = client.get(f"/console/shifts/{shift.id}")
        form = {"csrf": csrf_of(detail.text), "note": "找零失误"}
        confirmed = client.post(f"/console/shifts/{shift.id}/confirm", data=form)
        assert confirmed.status_code == 303, confirmed.text
        detail = client.get(confirmed.headers["location"])
        assert "已确认结班差异" in detail.text
        slip = client.get(f"/console/shifts/{shift.id}/deposit.pdf")
        assert slip.status_code == 200
        assert slip.content.startswith(b"%PDF")
        day = business_date(datetime.now(UTC)).isoformat()
        xlsx = client.get("/console/shifts", params={"format": "xlsx", "date_from": day})
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        ids = [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)]
        assert shift.id in ids
        csv = client.get("/console/shifts", params={"format": "csv", "date_from": day})
        assert "收费员" in csv.content.decode("utf-8-sig")
    assert audit_rows(stack, "shift.confirm", f"shift:{shift.id}")
    after = _balances(stack)
    deposit_fen = cash_fen - 10_00
    assert after.get(CASH_OVER_SHORT, 0) - before.get(CASH_OVER_SHORT, 0) == 10_00
    assert after.get(CASH_IN_TRANSIT, 0) - before.get(CASH_IN_TRANSIT, 0) == deposit_fen
    assert after[CASH_IN_DRAWER] - before.get(CASH_IN_DRAWER, 0) == 0

    c = stack.container
    today = business_date(c.clock.now())
    [deposit] = [d for d in deposits_for_matching(c.read_uow(), on=today, amount_fen=deposit_fen)
                 if d.shift_id == shift.id]  # fmt: skip
    line = CreditDeposit(deposit.deposit_no, deposit_fen, f"B{uuid.uuid4().hex[:10]}", today)
    credit_deposit(c.uow(), line, by="reconciliation", clock=c.clock)
    credited = _balances(stack)
    assert credited[COLLECTION] - after.get(COLLECTION, 0) == deposit_fen
    assert credited[CASH_IN_TRANSIT] - after[CASH_IN_TRANSIT] == -deposit_fen
    with c.engines.read.connect() as conn:
        report = run_checks(conn)
        assert report.ok, report.violations


def test_someone_elses_shift_a_second_close_and_a_payment_without_a_shift_are_refused(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    window_id, pos = new_window(stack)
    cashier, other, supervisor = _vmo_users(stack)
    base = str(stack.info["base_url"])
    code = api.post("/api/v1/payables", payable_body(payer)).json()["payment_code"]
    before = snapshot(stack)
    refused = _cash(pos, code)
    assert refused.status_code == 409
    assert "尚未开班" in refused.json()["detail"]
    assert snapshot(stack) == before
    with logged_in(base, cashier) as mine, logged_in(base, other) as theirs:
        assert _open(mine, window_id).status_code == 303
        shift = _shift_of(stack, window_id)
        page = _close(theirs, shift.id, {"d10000": 5})
        assert page.status_code == 403
        assert "只能结本人的班次" in page.text
        assert theirs.get(f"/console/shifts/{shift.id}").status_code == 404
        with logged_in(base, supervisor) as boss:
            assert _close(boss, shift.id, {"d10000": 5}).status_code == 403
        assert _shift_of(stack, window_id).status == ShiftStatus.OPEN.value
        bad = _close(mine, shift.id, {"d10000": -1})
        assert bad.status_code == 422
        assert _close(mine, shift.id, {"d10000": 5}).status_code == 303
        settled = snapshot(stack)
        again = _close(mine, shift.id, {"d10000": 5})
        assert again.status_code == 409
        assert "不能重复结班" in again.text
        assert snapshot(stack) == settled
    assert _shift_of(stack, window_id).status == ShiftStatus.CLOSED.value


@pytest.mark.parametrize("role", ["auditor", "finance_reviewer"])
def test_region_roles_read_reports_but_out_of_scope_shifts_answer_404(
    stack: Stack, role: str
) -> None:
    window_id, _pos = new_window(stack)
    cashier, _other, _supervisor = _vmo_users(stack)
    base = str(stack.info["base_url"])
    with logged_in(base, cashier) as client:
        assert _open(client, window_id).status_code == 303
    shift = _shift_of(stack, window_id)
    reader = make_user(stack, role)
    with logged_in(base, reader) as client:
        assert client.get(f"/console/shifts/{shift.id}").status_code == 200
    with stack.container.read_uow() as uow:
        school = next(
            s.unit_id for s in uow.units.sites() if s.unit_id != shift.unit_id and s.unit_id
        )
    outsider = make_user(stack, "unit_admin", unit_id=school)
    with logged_in(base, outsider) as client:
        assert client.get(f"/console/shifts/{shift.id}").status_code == 404
        page = client.get(f"/console/shifts/{shift.id}/deposit.pdf")
        assert page.status_code == 404


def test_the_pos_page_opens_and_closes_the_cashiers_shift_as_json(stack: Stack) -> None:
    window_id, _pos = new_window(stack)
    cashier, _other, _supervisor = _vmo_users(stack)
    with logged_in(str(stack.info["base_url"]), cashier) as client:
        state = client.get("/console/api/shift").json()
        assert state["shift"] is None
        assert window_id in [w["id"] for w in state["windows"]]
        assert [d["label"] for d in state["denominations"]][:2] == ["100元", "50元"]
        token = {"X-CSRF-Token": state["csrf"]}
        body = {"window_id": window_id, "opening_float_fen": 300_00}
        assert client.post("/console/api/shift", json=body).status_code == 403  # no token
        opened = client.post("/console/api/shift", json=body, headers=token)
        assert opened.status_code == 201, opened.text
        shift = opened.json()
        assert (shift["status"], shift["expected_cash_fen"]) == ("open", 300_00)
        again = client.post("/console/api/shift", json=body, headers=token)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        close = f"/console/api/shift/{shift['id']}/close"
        odd = client.post(close, json={"pieces": {"300": 1}}, headers=token)
        assert odd.status_code == 422
        assert "点钞数量有误" in odd.json()["detail"]
        bad = client.post(close, json={"pieces": {"10000": -1}}, headers=token)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        closed = client.post(close, json={"pieces": {"10000": 3, "100": 2}}, headers=token)
        assert closed.status_code == 200, closed.text
        result = closed.json()
        assert (result["status"], result["difference_label"]) == ("to_confirm", "长款 ¥2.00")
        twice = client.post(close, json={"pieces": {"10000": 3}}, headers=token)
        assert twice.status_code == 409
        assert "不能重复结班" in twice.json()["detail"]
