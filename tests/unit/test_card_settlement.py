"""The card acquirer's settlement file (docs/card-settlement.md): what the emulated acquirer
publishes for a day is what the strict parser reads; bad files are refused with the line and
the reason; lines match the platform's card orders by RRN (参考号)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from publicpay.adapters.reconciliation import card
from publicpay.adapters.reconciliation.matching import ORDER_SCHEMA, REFUND_SCHEMA, match
from publicpay.adapters.reconciliation.parsing import parse_statement
from publicpay.domain.reconciliation import Source, StatementRefused
from publicpay.emulators.acquirer import CardTerminalEmulator, NextCard, fee_of

MID = "898330105101001"
TID = "33010501"


def _acquirer(*amounts: int, void: int | None = None) -> tuple[CardTerminalEmulator, str]:
    """An acquirer that approved one sale per amount today (the `void`-th voided)."""
    host = CardTerminalEmulator(time_scale=0)
    host.register_merchant(MID, "k")
    for i, amount in enumerate(amounts):
        host.present(TID, NextCard(card_no="6217001234567895"))
        host.sale({"mid": MID, "tid": TID, "out_order_no": f"P{i:04d}", "amount": amount})
    if void is not None:
        host.void({"mid": MID, "out_order_no": f"P{void:04d}", "void_order_no": "V1"})
    sale = next(iter(host.sales.values()))
    return host, f"{sale.txn_time:%Y%m%d}"


def _file(*amounts: int, void: int | None = None) -> tuple[bytes, date, CardTerminalEmulator]:
    host, day = _acquirer(*amounts, void=void)
    return (
        host.settlement_file(MID, day),
        date.fromisoformat(f"{day[:4]}-{day[4:6]}-{day[6:]}"),
        host,
    )


def _edit(content: bytes, line: int, field: int, value: str) -> bytes:
    lines = content.decode("gbk").split("\r\n")
    fields = lines[line - 1].split("|")
    fields[field] = value
    lines[line - 1] = "|".join(fields)
    return "\r\n".join(lines).encode("gbk")


def test_the_acquirers_day_is_read_with_rrn_fee_and_totals():
    content, day, host = _file(12500, 800_000, 3000, void=2)
    parsed = parse_statement(Source.CARD, content, day=day, merchant=MID)
    rows = parsed.lines.to_dicts()
    sales = [host.sales[(MID, f"P{i:04d}")] for i in range(2)]  # the voided one never settles
    assert [(r["order_no"], r["trade_no"], r["amount_fen"]) for r in rows] == [
        (s.out_order_no, s.rrn, s.amount) for s in sales
    ]
    assert [r["fee_fen"] for r in rows] == [44, 2000]  # 0.35 %, capped at 20 yuan
    assert (parsed.totals.payments, parsed.totals.fees) == (812_500, 2044)
    assert parsed.totals.net == 812_500 - 2044
    assert (rows[0]["line_no"], rows[0]["kind"]) == (2, "payment")
    assert fee_of(12500) == 44


def test_an_empty_day_is_a_valid_file():
    host = CardTerminalEmulator()
    content = host.settlement_file(MID, "20261206")
    parsed = card.parse(content, expected_mid=MID)
    assert (parsed.line_count, parsed.business_day) == (0, date(2026, 12, 6))


def test_a_file_of_another_merchant_is_refused():
    content, _, _ = _file(100)
    with pytest.raises(StatementRefused, match="商户"):
        card.parse(content, expected_mid="898330105109999")


@pytest.mark.parametrize("cut", [10, 60, 200])
def test_a_truncated_file_is_refused(cut):
    content, _, _ = _file(12500, 3000)
    with pytest.raises(StatementRefused, match=r"不完整|文件头"):
        card.parse(content[:cut], expected_mid=MID)


def test_a_file_not_in_gbk_is_refused():
    content, _, _ = _file(12500)
    with pytest.raises(StatementRefused, match="GBK"):
        card.parse(b"\xff\xfe" + content, expected_mid=MID)


def test_a_utf8_file_with_chinese_is_refused_as_not_gbk():
    content, _, _ = _file(12500)
    utf8 = content.decode("gbk").encode("utf-8")  # the acquirer's name: not GBK text
    with pytest.raises(StatementRefused, match=r"GBK|文件头"):
        card.parse(utf8, expected_mid=MID)


def test_a_repeated_reference_number_is_refused_with_its_line():
    content, _, host = _file(12500, 3000)
    first = host.sales[(MID, "P0000")].rrn
    with pytest.raises(StatementRefused, match=f"参考号 {first} 重复") as refused:
        card.parse(_edit(content, 3, 7, first), expected_mid=MID)
    assert refused.value.line == 3


@pytest.mark.parametrize(
    ("field", "reason"), [(1, "笔数"), (2, "交易金额"), (3, "手续费"), (4, "清算金额")]
)
def test_a_wrong_totals_line_is_refused(field, reason):
    content, _, _ = _file(12500, 3000)
    lines = content.decode("gbk").split("\r\n")
    total = lines[3].split("|")
    total[field] = str(int(total[field]) + 1)
    lines[3] = "|".join(total)
    with pytest.raises(StatementRefused, match=reason) as refused:
        card.parse("\r\n".join(lines).encode("gbk"), expected_mid=MID)
    assert refused.value.line == 4


def test_a_totals_line_that_does_not_net_is_refused():
    content, _, _ = _file(12500)
    lines = content.decode("gbk").split("\r\n")
    lines[2] = lines[2].rsplit("|", 1)[0] + "|12500"  # settled = amount, the fee forgotten
    with pytest.raises(StatementRefused, match="清算金额"):
        card.parse("\r\n".join(lines).encode("gbk"), expected_mid=MID)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (4, "6217001234567895", "脱敏"),  # a full card number
        (1, "31", "交易类型"),
        (10, "12.50", "整数分"),
        (12, "12500", "清算金额不等于"),
        (13, "20250101", "清算日期"),
        (3, "3301050", "终端号"),
        (2, "898330105109999", "商户号"),
    ],
)
def test_a_bad_detail_record_is_refused_with_its_line_and_reason(field, value, reason):
    content, _, _ = _file(12500, 3000)
    with pytest.raises(StatementRefused, match=reason) as refused:
        card.parse(_edit(content, 3, field, value), expected_mid=MID)
    assert refused.value.line == 3


def test_a_record_with_missing_fields_is_refused():
    content, _, _ = _file(12500)
    lines = content.decode("gbk").split("\r\n")
    lines[1] = lines[1].rsplit("|", 2)[0]
    with pytest.raises(StatementRefused, match="字段数不符"):
        card.parse("\r\n".join(lines).encode("gbk"), expected_mid=MID)


def test_content_after_the_totals_line_is_refused():
    content, _, _ = _file(12500)
    with pytest.raises(StatementRefused, match="汇总记录之后"):
        card.parse(content + b"D|01|x\r\n", expected_mid=MID)


def _orders(day: date, *rows: tuple[int, str, str, int, str, bool]) -> pl.DataFrame:
    """Card orders paid on `day` (the acquirer's day: today in Shanghai)."""
    return pl.DataFrame(
        [(i, no, rrn, amount, status, day.isoformat(), False, dup, False)
         for i, no, rrn, amount, status, dup in rows],
        schema=ORDER_SCHEMA,
        orient="row",
    )  # fmt: skip


def test_lines_match_card_orders_by_reference_number():
    content, day, host = _file(12500, 3000, 4000, 5000)
    s = [host.sales[(MID, f"P{i:04d}")] for i in range(4)]
    orders = _orders(
        day,
        (1, "ours-1", s[0].rrn, 12500, "succeeded", False),  # matched (by RRN, not order no)
        (2, "ours-2", s[1].rrn, 2999, "succeeded", False),  # amount mismatch
        (3, "ours-3", s[2].rrn, 4000, "succeeded", True),  # a second payment of its payable
        (4, "ours-4", "000000000000", 6000, "succeeded", False),  # platform only (短款)
    )  # s[3]: the acquirer settled a sale the platform never booked (长款)
    parsed = card.parse(content, expected_mid=MID)
    day_text = day.isoformat()
    result = match(parsed.lines, orders, pl.DataFrame(schema=REFUND_SCHEMA), day=day_text,
                   key="trade_no")  # fmt: skip
    assert result.lines["match_class"].to_list() == [
        "matched",
        "amount_mismatch",
        "duplicate",
        "channel_only",
    ]
    assert result.lines["order_id"].to_list()[:3] == [1, 2, 3]
    assert result.platform_only.select("order_id", "match_class").rows() == [(4, "platform_only")]
