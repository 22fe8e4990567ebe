"""Refunds over HTTP (Public contract): the unit asks with an Idempotency-Key, the bureau approves
or declines through the finance API, the worker refunds through the channel, the unit hears
payable.refunded; bad input is refused with problem+json and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.refunds import refunds
from tests.integration.receipt_kit import drain, paid_with_receipt, pay, register
from tests.integration.refund_kit import approved_refund, ask_refund, finance
from tests.support.client import SignedClient


def _refund_rows(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return len(conn.execute(select(refunds.c.id)).all())


def test_a_unit_asks_the_bureau_approves_and_the_channel_refunds(
    stack: Any, school_api: SignedClient, payer: dict[str, str]
) -> None:
    paid = paid_with_receipt(stack, school_api, payer, "JY0101")
    code = paid["payment_code"]
    key = uuid.uuid4().hex
    asked = ask_refund(school_api, code, 10_000, "学生退学", key=key)
    assert asked.status_code == 201, asked.text
    body = asked.json()
    assert (body["status"], body["amount_fen"], body["approvals_required"]) == (
        "pending_approval",
        10_000,
        1,
    )
    replay = ask_refund(school_api, code, 10_000, "学生退学", key=key)
    assert replay.status_code == 201
    assert replay.json()["refund_no"] == body["refund_no"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    refund_no = body["refund_no"]
    assert school_api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "pending_approval"
    approved = finance(stack).post(f"/api/v1/admin/refunds/{refund_no}/approve", {"note": "同意"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    drain(stack)
    assert school_api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "succeeded"
    payable = school_api.get(f"/api/v1/payables/{code}").json()
    assert (payable["status"], payable["refunded_fen"]) == ("partially_refunded", 10_000)
    events = school_api.get("/api/v1/events?limit=500").json()["events"]
    refunded = [e for e in events if e["type"] == "payable.refunded"]
    assert any(e["data"]["refund_no"] == refund_no for e in refunded)
    listed = school_api.get(f"/api/v1/payables/{code}/refunds").json()["refunds"]
    assert [r["refund_no"] for r in listed] == [refund_no]


def test_a_refund_above_what_is_left_is_refused_with_409(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pay(stack, code)
    paid = api.get(f"/api/v1/payables/{code}").json()["paid_fen"]
    before = _refund_rows(stack)
    over = ask_refund(api, code, paid + 1)
    assert over.status_code == 409, over.text
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["type"] == "urn:publicpay:problem:refund_exceeds_refundable"
    assert "超过可退金额" in over.json()["detail"]
    assert _refund_rows(stack) == before


def test_a_refund_of_an_unpaid_payable_or_without_a_key_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    before = _refund_rows(stack)
    unpaid = ask_refund(api, code, 100)
    assert unpaid.status_code == 409
    assert "不能退款" in unpaid.json()["detail"]
    keyless = api.post(f"/api/v1/payables/{code}/refunds", {"amount_fen": 1, "reason": "x"})
    assert keyless.status_code == 422
    assert keyless.json()["errors"] == {"Idempotency-Key": "必填"}
    for bad in ({"amount_fen": 0, "reason": "x"}, {"amount_fen": "1", "reason": "x"}, {}):
        refused = api.post(
            f"/api/v1/payables/{code}/refunds",
            bad,
            extra_headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert refused.status_code == 422, refused.text
    assert _refund_rows(stack) == before


def test_another_units_payable_or_refund_answers_404(
    stack: Any, api: SignedClient, school_api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pay(stack, code)
    assert ask_refund(school_api, code, 100).status_code == 404
    mine = ask_refund(api, code, 100).json()["refund_no"]
    assert school_api.get(f"/api/v1/refunds/{mine}").status_code == 404
    assert api.get(f"/api/v1/refunds/{mine}").status_code == 200


def test_above_the_threshold_the_same_approver_cannot_approve_twice(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    threshold = stack.container.settings.refund_second_approval_above_fen
    response = api.post(
        "/api/v1/payables",
        {
            "biz_no": uuid.uuid4().hex[:20],
            "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
            "items": [{"item_code": "FM0101", "quantity": 1, "amount_fen": threshold + 5_000}],
        },
    )
    assert response.status_code == 201, response.text
    code = response.json()["payment_code"]
    pay(stack, code)
    asked = ask_refund(api, code, threshold + 1)
    assert asked.status_code == 201, asked.text
    assert asked.json()["approvals_required"] == 2
    refund_no = asked.json()["refund_no"]
    bureau = finance(stack)
    first = bureau.post(f"/api/v1/admin/refunds/{refund_no}/approve", {"note": "初审同意"})
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["approvals"]) == ("pending_approval", 1)
    again = bureau.post(f"/api/v1/admin/refunds/{refund_no}/approve", {"note": "再次同意"})
    assert again.status_code == 403
    assert again.json()["type"] == "urn:publicpay:problem:self_approval"
    assert api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "pending_approval"
    declined = bureau.post(f"/api/v1/admin/refunds/{refund_no}/decline", {"note": ""})
    assert declined.status_code == 422  # a decline says why


def test_the_unit_credential_cannot_use_the_finance_api(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pay(stack, code)
    refund_no = ask_refund(api, code, 100).json()["refund_no"]
    answer = api.post(f"/api/v1/admin/refunds/{refund_no}/approve", {"note": "自己批"})
    assert answer.status_code == 401
    assert api.get(f"/api/v1/refunds/{refund_no}").json()["status"] == "pending_approval"
    declined = finance(stack).post(
        f"/api/v1/admin/refunds/{refund_no}/decline", {"note": "业务未撤销"}
    )
    assert declined.json()["status"] == "declined"
    unknown = finance(stack).post("/api/v1/admin/refunds/R000/approve", {"note": ""})
    assert unknown.status_code == 404


def test_publicpay_check_catches_a_refunded_total_that_does_not_match_the_refunds(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pay(stack, code)
    approved_refund(stack, api, code, 100)
    drain(stack)
    engine = stack.container.engines.write
    with engine.connect() as conn:
        assert not [v for v in run_checks(conn).violations if code in v]
    bump = update(payables).where(payables.c.payment_code == code)
    with engine.begin() as conn:
        conn.execute(bump.values(refunded_fen=payables.c.refunded_fen + 1))
    try:
        with engine.connect() as conn:
            found = [v for v in run_checks(conn).violations if code in v]
        assert found == [f"缴款单 {code} 实缴 10000 分，已退 101 分，成功退款合计 100 分，"
                         "申请中及已退合计 100 分"]  # fmt: skip
    finally:
        with engine.begin() as conn:
            conn.execute(bump.values(refunded_fen=payables.c.refunded_fen - 1))
