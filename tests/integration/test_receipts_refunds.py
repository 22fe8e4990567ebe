"""Red-letter receipts (红字票据) on refund, a new receipt for what is kept, no over-refund."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from publicpay.adapters.receipts.formats import face_from_xml
from tests.conftest import payable_body
from tests.integration.receipt_kit import drain, paid_with_receipt, pay, rows
from tests.integration.refund_kit import approved_refund
from tests.support.client import SignedClient
from tests.support.db import ledger_for, payable_id


def _refund(stack: Any, code: str, amount: int) -> str:
    client = SignedClient(stack.info["base_url"], "", "")
    for unit in stack.info["units"]:  # the payable's own unit asks
        client = SignedClient(stack.info["base_url"], unit["app_id"], unit["app_secret"])
        if client.get(f"/api/v1/payables/{code}").status_code == 200:
            break
    return approved_refund(stack, client, code, amount)


def test_full_refund_issues_a_red_receipt_linked_to_the_original(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    paid = paid_with_receipt(stack, api, payer)
    code, amount = paid["payment_code"], paid["paid_fen"]
    refund_no = _refund(stack, code, amount)
    drain(stack)
    original, red = rows(stack, code)
    assert original.status == "reversed"
    assert original.total_fen == amount
    assert red.kind == "red"
    assert red.total_fen == -amount
    assert red.original_id == original.id
    assert red.ref == refund_no
    assert red.number != original.number
    assert red.code == original.code
    xml = red.xml.decode()
    assert f"<RelatedInvoiceNumber>{original.number}</RelatedInvoiceNumber>" in xml
    assert f"<TotalAmount>-{amount / 100:.2f}</TotalAmount>" in xml
    body = api.get(f"/api/v1/payables/{code}").json()
    assert body["status"] == "refunded"
    assert body["refunded_fen"] == amount
    assert body["receipt"] is None  # nothing kept, no live receipt
    assert ledger_for(stack, payable_id(stack, code))["channel_receivable:alipay"] == 0


def test_partial_refund_issues_red_and_a_new_receipt_for_the_remainder(
    stack: Any, school_api: SignedClient, payer: dict[str, str]
) -> None:
    paid = paid_with_receipt(stack, school_api, payer, "JY0101")
    code, amount = paid["payment_code"], paid["paid_fen"]
    _refund(stack, code, 30000)
    drain(stack)
    original, red, remainder = rows(stack, code)
    assert original.status == "reversed"
    assert red.total_fen == -amount
    assert remainder.kind == "normal"
    assert remainder.status == "issued"
    assert remainder.total_fen == amount - 30000
    body = school_api.get(f"/api/v1/payables/{code}").json()
    assert body["status"] == "partially_refunded"
    assert body["receipt"]["number"] == remainder.number
    assert ledger_for(stack, payable_id(stack, code)) == {
        "channel_receivable:alipay": amount - 30000,
        "special_account": -(amount - 30000),
    }
    _refund(stack, code, amount - 30000)
    drain(stack)
    *_, second_red = rows(stack, code)
    assert second_red.kind == "red"
    assert second_red.total_fen == -(amount - 30000)
    assert [r.status for r in rows(stack, code)] == ["reversed", "issued", "reversed", "issued"]


def _lines(row: Any) -> list[tuple[str, int | Decimal, int, int]]:
    return [
        (line.item_code, line.quantity, line.standard_fen, line.amount_fen)
        for line in face_from_xml(row.xml).lines
    ]


def test_refunds_come_off_the_last_lines_and_every_line_stays_whole(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    body = payable_body(payer)
    body["items"] = [
        {"item_code": "GA0101", "quantity": 2},  # 2 × 100.00
        {"item_code": "GA0105", "quantity": 3},  # 3 × 10.00
    ]
    code = api.post("/api/v1/payables", body).json()["payment_code"]
    pay(stack, code)
    drain(stack)
    _refund(stack, code, 2_000)  # two licences, whole units of the last line
    drain(stack)
    _refund(stack, code, 11_500)  # the last licence, then 105.00 of the plates: not whole units
    drain(stack)
    original, red1, kept1, red2, kept2 = rows(stack, code)
    assert _lines(original) == [("GA0101", 2, 10_000, 20_000), ("GA0105", 3, 1_000, 3_000)]
    assert _lines(red1) == [("GA0101", -2, 10_000, -20_000), ("GA0105", -3, 1_000, -3_000)]
    assert _lines(kept1) == [("GA0101", 2, 10_000, 20_000), ("GA0105", 1, 1_000, 1_000)]
    assert _lines(red2) == [("GA0101", -2, 10_000, -20_000), ("GA0105", -1, 1_000, -1_000)]
    assert _lines(kept2) == [("GA0101", 1, 9_500, 9_500)]
    for row in (original, red1, kept1, red2, kept2):
        assert all(q * std == amount for _, q, std, amount in _lines(row))
        assert sum(amount for *_, amount in _lines(row)) == row.total_fen
    assert kept2.total_fen == 23_000 - 2_000 - 11_500
