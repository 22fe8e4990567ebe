"""退款 screens over HTTP: a unit admin asks, a finance reviewer approves (a second one above the
threshold), the requester never approves, an out-of-scope reviewer sees nothing, a counter
payment goes back by a recorded bank transfer; bad input is explained and changes nothing."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.units import units
from tests.integration.console_kit import (
    audit_rows,
    csrf_of,
    ensure_region,
    logged_in,
    make_user,
)
from tests.integration.counter_kit import bank_teller
from tests.integration.receipt_kit import drain, pay, register
from tests.support.client import SignedClient

GOOD_CARD = "6222021234567890128"


def _school(stack: Any) -> tuple[int, SignedClient]:
    school = stack.info["units"][2]
    with stack.container.engines.read.connect() as conn:
        unit_id = conn.execute(select(units.c.id).where(units.c.code == school["code"])).scalar()
    client = SignedClient(stack.info["base_url"], school["app_id"], school["app_secret"])
    return int(unit_id or 0), client


def _ask(client: httpx.Client, code: str, amount: str, **extra: str) -> httpx.Response:
    page = client.get(f"/console/refunds/new?code={code}")
    assert page.status_code == 200, page.text
    form = {"csrf": csrf_of(page.text), "code": code, "amount": amount, "reason": "学生退宿"}
    return client.post("/console/refunds/new", data=form | extra)


def _refund_no(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.search(r"/console/refunds/(R\w+)\?done=requested", response.headers["location"])
    assert found
    return found.group(1)


def _decide(client: httpx.Client, refund_no: str, action: str, **fields: str) -> httpx.Response:
    page = client.get(f"/console/refunds/{refund_no}")
    return client.post(
        f"/console/refunds/{refund_no}/{action}", data={"csrf": csrf_of(page.text), **fields}
    )


def _count(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return len(conn.execute(select(refunds.c.id)).all())


def test_a_unit_admin_asks_and_a_reviewer_approves_on_one_screen(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, school_api = _school(stack)
    code = register(school_api, payer, "JY0101")
    pay(stack, code)
    admin = make_user(stack, "unit_admin", unit_id=unit_id)
    with logged_in(base_url, admin) as client:
        refund_no = _refund_no(_ask(client, code, "120.50"))
        page = client.get(f"/console/refunds/{refund_no}?done=requested")
        assert "待审批" in page.text
        assert "¥120.50" in page.text
        assert 'id="approve"' not in page.text  # a unit admin does not approve
        assert client.post(f"/console/refunds/{refund_no}/approve", data={}).status_code == 403
        assert refund_no in client.get("/console/refunds").text
    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        queue = client.get("/console/refunds")
        assert refund_no in queue.text
        screen = client.get(f"/console/refunds/{refund_no}")
        for part in ('id="payments"', 'id="earlier"', 'id="receipts"', 'id="lines"', code):
            assert part in screen.text
        done = _decide(client, refund_no, "approve", note="核对无误")
        assert done.status_code == 303
        assert "已批准" in client.get(f"/console/refunds/{refund_no}").text
    drain(stack)
    assert school_api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "succeeded"
    assert audit_rows(stack, "refund.approved", refund_no)[0].actor == f"user:{reviewer.username}"


def test_the_requester_cannot_approve_and_a_big_refund_needs_two_reviewers(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    _, school_api = _school(stack)
    code = register(school_api, payer, "JY0101")
    pay(stack, code)
    paid = school_api.get(f"/api/v1/payables/{code}").json()["paid_fen"]
    threshold = stack.container.settings.refund_second_approval_above_fen
    assert paid > threshold, "tuition is above the second-approval threshold"
    maker = make_user(stack, "finance_admin")
    with logged_in(base_url, maker) as client:
        refund_no = _refund_no(_ask(client, code, f"{paid / 100:.2f}"))
        page = client.get(f"/console/refunds/{refund_no}")
        assert "不能审批" in page.text
        refused = client.post(
            f"/console/refunds/{refund_no}/approve", data={"csrf": csrf_of(page.text)}
        )
        assert refused.status_code == 403
        assert "申请人不能审批" in refused.text
    first, second = make_user(stack, "finance_reviewer"), make_user(stack, "finance_reviewer")
    with logged_in(base_url, first) as client:
        assert _decide(client, refund_no, "approve").status_code == 303
        again = client.get(f"/console/refunds/{refund_no}")
        assert "待审批" in again.text
        assert "另一位审核人复核" in again.text
        twice = client.post(
            f"/console/refunds/{refund_no}/approve", data={"csrf": csrf_of(again.text)}
        )
        assert twice.status_code == 403
    with logged_in(base_url, second) as client:
        assert _decide(client, refund_no, "approve").status_code == 303
    assert school_api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "approved"


def test_a_reviewer_of_another_region_gets_404_and_a_decline_needs_a_reason(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, school_api = _school(stack)
    code = register(school_api, payer, "JY0101")
    pay(stack, code)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        refund_no = _refund_no(_ask(client, code, "10"))
    ensure_region(stack, "330106", "西湖区", "330100")
    outsider = make_user(stack, "finance_reviewer", region_code="330106")
    with logged_in(base_url, outsider) as client:
        assert client.get(f"/console/refunds/{refund_no}").status_code == 404
        assert refund_no not in client.get("/console/refunds?tab=all").text
        home = client.get("/console/refunds")
        blind = client.post(
            f"/console/refunds/{refund_no}/approve", data={"csrf": csrf_of(home.text)}
        )
        assert blind.status_code == 404
    with logged_in(base_url, make_user(stack, "finance_reviewer")) as client:
        empty = _decide(client, refund_no, "decline", note=" ")
        assert empty.status_code == 422
        assert "须填写说明" in empty.text
        assert _decide(client, refund_no, "decline", note="材料不全").status_code == 303
        assert "已驳回" in client.get(f"/console/refunds/{refund_no}").text


def test_bad_refund_requests_are_explained_and_change_nothing(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, school_api = _school(stack)
    code = register(school_api, payer, "JY0101")
    unpaid = register(school_api, payer, "JY0101")
    pay(stack, code)
    before = _count(stack)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        over = _ask(client, code, "999999")
        assert over.status_code == 409
        assert "超过可退金额" in over.text
        fraction = _ask(client, code, "1.234")
        assert fraction.status_code == 422
        assert "最多两位小数" in fraction.text
        page = client.get(f"/console/refunds/new?code={unpaid}")
        assert "不能申请退款" in page.text
        other = client.get("/console/refunds/new?code=33010526000000000000")
        assert other.status_code == 404
        no_csrf = client.post("/console/refunds/new", data={"code": code, "amount": "1"})
        assert no_csrf.status_code == 403
    assert _count(stack) == before


def test_a_counter_payment_is_refunded_by_a_recorded_bank_transfer(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, school_api = _school(stack)
    code = register(school_api, payer, "JY0101")
    bank_teller(stack).pay(code)
    before = _count(stack)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        payee = {"payee_name": "王芳", "payee_bank": "工商银行西湖支行"}
        missing = _ask(client, code, "100")
        assert missing.status_code == 422
        assert "银行转账" in missing.text
        bad = _ask(client, code, "100", payee_account="6222021234567890127", **payee)
        assert bad.status_code == 422
        assert "校验位错误" in bad.text
        assert _count(stack) == before
        refund_no = _refund_no(_ask(client, code, "100", payee_account=GOOD_CARD, **payee))
        shown = client.get(f"/console/refunds/{refund_no}").text
        assert "6222***********0128" in shown
        assert GOOD_CARD not in shown
    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        assert _decide(client, refund_no, "approve").status_code == 303
        drain(stack)
        page = client.get(f"/console/refunds/{refund_no}")
        assert "待银行转账" in page.text
        instruction = client.get(f"/console/refunds/{refund_no}/instruction")
        assert GOOD_CARD in instruction.text
        assert audit_rows(stack, "refund.transfer_instruction", refund_no)
        bad_serial = _decide(client, refund_no, "transfer", bank_serial="x")
        assert bad_serial.status_code == 422
        assert _decide(client, refund_no, "transfer", bank_serial="ICBC2026001").status_code == 303
        assert "退款成功" in client.get(f"/console/refunds/{refund_no}").text
        exported = client.get("/console/refunds?tab=all&format=csv")
        assert exported.headers["content-type"].startswith("text/csv")
        line = next(x for x in exported.text.splitlines() if x.startswith(refund_no))
        assert ",100.00," in line
        assert "退款成功" in line
        assert GOOD_CARD not in exported.text
        book = client.get("/console/refunds?tab=transfer&format=xlsx")
        sheet = load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None
        assert [cell.value for cell in sheet[1]][:2] == ["退款单号", "缴款码"]
        assert audit_rows(stack, "console.export", "list:refunds")
    with stack.container.engines.read.connect() as conn:
        sealed = conn.execute(
            select(refunds.c.payee_account_enc).where(refunds.c.refund_no == refund_no)
        ).scalar()
    assert GOOD_CARD.encode() not in bytes(sealed)
    payable = school_api.get(f"/api/v1/payables/{code}").json()
    assert (payable["status"], payable["refunded_fen"]) == ("partially_refunded", 10_000)
    assert school_api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "succeeded"
