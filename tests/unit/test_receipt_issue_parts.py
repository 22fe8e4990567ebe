"""Pure parts of receipt issuing: the face read back from XML, refund slices of the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from publicpay.adapters.receipts.formats import face_from_xml
from publicpay.adapters.receipts.xml import receipt_xml
from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.ledger import Share, refund_shares, requested_refund_journal
from publicpay.domain.receipts.receipts import ReceiptFace, ReceiptKind, ReceiptLine

FACE = ReceiptFace(
    code="33010126",
    number="0000000042",
    check_code="235456",
    issued_at=datetime(2026, 11, 22, 2, 15, 7, tzinfo=UTC),
    payer_name="张三",
    payer_code="330105199001010374",
    unit_name="杭州市拱墅区文澜中学",
    unit_code="12330105470153361X",
    lines=(
        ReceiptLine("JY0101", "学费", "学期", 1, 110000, 110000),
        ReceiptLine("JY0201", "住宿费", "月", Decimal("1.5"), 2000, 3000),
    ),
    total_fen=113000,
    total_in_words=amount_in_words(113000),
    payee="统一公共支付平台",
    checker="系统复核",
    payment_code="33010526010000000012",
    channel_name="支付宝",
    verify_url="http://127.0.0.1:8000/verify?code=33010126&number=0000000042",
    remark="R&D <备注>",
)


def test_face_read_back_from_xml_serialises_to_the_same_bytes() -> None:
    xml = receipt_xml(FACE)
    assert receipt_xml(face_from_xml(xml)) == xml
    assert face_from_xml(xml).lines[1].quantity == Decimal("1.5")


def test_red_face_read_back_keeps_the_original_and_negative_amounts() -> None:
    red = ReceiptFace(
        **{
            **{f: getattr(FACE, f) for f in FACE.__slots__},  # type: ignore[attr-defined]
            "lines": (ReceiptLine("JY0101", "学费", "学期", -1, 110000, -110000),),
            "total_fen": -110000,
            "total_in_words": "（负数）" + amount_in_words(110000),
            "kind": ReceiptKind.RED,
            "original_code": "33010126",
            "original_number": "0000000041",
        }
    )
    back = face_from_xml(receipt_xml(red))
    assert back.is_red
    assert back.original_number == "0000000041"
    assert back.total_fen == -110000


SHARES = [
    Share(Destination.TREASURY, BudgetLevel.CENTRAL, 3333),
    Share(Destination.TREASURY, BudgetLevel.CITY, 3333),
    Share(Destination.SPECIAL_ACCOUNT, BudgetLevel.COUNTY, 3334),
]


@given(st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6))
def test_refunds_adding_up_to_the_payment_give_back_exactly_its_shares(parts: list[int]) -> None:
    remaining, amounts = sum(s.amount_fen for s in SHARES), []
    for part in parts:
        take = min(part, remaining)
        if take:
            amounts.append(take)
            remaining -= take
    if remaining:
        amounts.append(remaining)
    refunds, before = [], 0
    for amount in amounts:
        refunds.append(refund_shares(SHARES, before, amount))
        before += amount
    given_back: dict[tuple[str, str], int] = {}
    for slices in refunds:
        for s in slices:
            key = (s.destination.value, s.level.value)
            given_back[key] = given_back.get(key, 0) + s.amount_fen
    assert given_back == {(s.destination.value, s.level.value): s.amount_fen for s in SHARES}


def test_refund_journal_debits_the_treasury_and_credits_the_channel() -> None:
    journal = requested_refund_journal("R1", "alipay", refund_shares(SHARES, 0, 1000))
    postings = {p.account: p.amount_fen for p in journal.postings}
    assert postings["channel_receivable:alipay"] == -1000
    assert sum(postings.values()) == 0
    assert postings["special_account"] > 0
