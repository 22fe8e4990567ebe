"""The 5408 voucher's details are written as text: escaped like XML, exact to the fen (negative
refund details included), numbered in order, summing to SumAmt; a day's payments of one fee
combination are split once and reused without changing a fen."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from types import SimpleNamespace
from xml.sax.saxutils import escape

from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.adapters.reconciliation.treasury import (
    LEVEL_CODES,
    SPECIAL_CODE,
    VoucherParties,
    voucher_xml,
)
from publicpay.demo import catalogue_data
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.clearing import ClearingLine, Window, WindowStatus, by_level, payment_lines
from publicpay.domain.money import Money
from publicpay.domain.payables import PayableLine
from publicpay.emulators.treasury import TreasuryEmulator
from publicpay.services.reconciliation.clearing import PaymentSplitter

DAY = date(2026, 12, 5)
PARTIES = VoucherParties("330105000", "3301050000", "3305&01", "汇缴户", "银行")


def _window(lines: list[ClearingLine]) -> Window:
    total = sum(line.amount_fen for line in lines)
    return Window(
        id=9,
        business_day=DAY,
        account="a",
        status=WindowStatus.OPEN,
        gross_fen=total,
        refunds_fen=0,
        fees_fen=0,
        total_fen=total,
        by_level=by_level(lines),
        created_at=datetime.now(UTC),
        voucher_no="540820261205000009",
    )


def test_voucher_details_are_escaped_exact_and_sum_to_the_total() -> None:
    lines = [
        ClearingLine(
            "3301&<1>", "103040101", BudgetLevel.CITY, Destination.TREASURY, 12_345, "A<&>"
        ),
        ClearingLine("3302", "1030402", BudgetLevel.CENTRAL, Destination.SPECIAL_ACCOUNT, 5, "B"),
        ClearingLine("3301&<1>", "103040101", BudgetLevel.CITY, Destination.TREASURY, -150, "A<&>"),
    ]
    root = ET.fromstring(voucher_xml(_window(lines), lines, PARTIES))
    details = root.findall("VoucherBody/Voucher/DetailList/Detail")
    assert [d.findtext("Id") for d in details] == ["1", "2", "3"]
    assert [d.findtext("Amt") for d in details] == ["123.45", "0.05", "-1.50"]
    assert details[0].findtext("Hold1") == "3301&<1>"
    assert details[0].findtext("Hold4") == "A<&>"
    assert details[1].findtext("Remark") == "9"  # 财政专户
    assert details[0].findtext("Hold3") == "3305&01"
    assert root.findtext("VoucherBody/Voucher/SumAmt") == "122.00"


def test_a_days_payments_are_split_like_each_payment_alone() -> None:
    items = {i.code: i for i in [*catalogue_data.VEHICLE_OFFICE, catalogue_data.PASSPORT]}
    kinds = [
        [PayableLine(i.code, i.name, i.unit_of_measure, q, 1_000, 1_000 * q)]
        for i in items.values()
        for q in (1, 3)
    ]
    of = {n: kinds[n % len(kinds)] for n in range(len(kinds) * 3)}
    paid = [
        SimpleNamespace(
            id=n, payment_code=f"P{n}", unit_name="所", paid_fen=sum(x.amount_fen for x in lines)
        )
        for n, lines in of.items()
    ]
    together = list(PaymentSplitter().split(paid, [], of, items).lines)
    alone = [
        line
        for p in paid
        for line in payment_lines(p.payment_code, p.unit_name, of[p.id], items, p.paid_fen)
    ]
    assert together == alone
    columnar = ColumnarSplitter().split(paid, [], of, items).lines
    assert list(columnar) == alone
    assert voucher_xml(_window(alone), columnar, PARTIES) == voucher_xml(
        _window(alone), alone, PARTIES
    )


def _reference_details(lines: list[ClearingLine], account: str) -> str:
    """The details as first written, one Python f-string per line."""
    out = []
    for i, line in enumerate(lines, start=1):
        special = line.destination is Destination.SPECIAL_ACCOUNT
        code, name = SPECIAL_CODE if special else LEVEL_CODES[line.level]
        out.append(
            f"<Detail><Id>{i}</Id><IncomeSortCode>{escape(line.subject_code)}</IncomeSortCode>"
            f"<Amt>{Money(line.amount_fen).to_yuan()}</Amt><Remark>{code}</Remark>"
            f"<BudgetLevelName>{name}</BudgetLevelName><Hold1>{escape(line.payment_code)}</Hold1>"
            f"<Hold2>缴款人</Hold2><Hold3>{account}</Hold3><Hold4>{escape(line.unit_name)}</Hold4>"
            "</Detail>"
        )
    return "".join(out)


def test_the_columnar_details_are_the_per_line_details_on_random_lines() -> None:
    rng = random.Random(5)
    texts = ["3301", "A&B", "<x>", "车辆管理所", "a>b<c&d", ""]
    lines = [
        ClearingLine(
            rng.choice(texts) + str(i),
            rng.choice(["103040101", "1030&4"]),
            rng.choice(list(BudgetLevel)),
            rng.choice(list(Destination)),
            rng.choice([0, 1, -1, 5, -99, 100, -100, 12_345, rng.randint(-(10**9), 10**9)]),
            rng.choice(texts),
        )
        for i in range(500)
    ]
    xml = voucher_xml(_window(lines), lines, PARTIES)
    assert _reference_details(lines, escape(PARTIES.account_no)) in xml
    assert "<DetailList></DetailList>" in voucher_xml(_window([]), [], PARTIES)


def test_the_emulated_treasury_returns_a_voucher_paying_a_level_less_than_nothing():
    """A 5408 voucher pays money in: a level whose details add up below zero (giving back is
    退库, another procedure) is returned with the level named; the same details with the level
    at zero are taken."""

    def line(code: str, level: BudgetLevel, fen: int) -> ClearingLine:
        return ClearingLine(code, "103040101", level, Destination.TREASURY, fen, "单位")

    below = [line("P1", BudgetLevel.COUNTY, 1000), line("P0", BudgetLevel.PROVINCE, -300)]
    at_zero = [*below, line("P2", BudgetLevel.PROVINCE, 300)]
    answers = []
    for lines in (below, at_zero):
        window = _window(lines)
        window.voucher_no = "5408202612050000009"
        answers.append(
            ET.fromstring(TreasuryEmulator().answer(voucher_xml(window, lines, PARTIES).encode()))
        )
    refused, taken = (a.find("VoucherBody/Receipt") for a in answers)
    assert refused.findtext("Result") == "0"
    assert "预算级次 2 缴库金额为负" in refused.findtext("Reason")
    assert taken.findtext("Result") == "1"
    assert taken.findtext("XSumAmt") == "10.00"
