"""The WeChat, UnionPay, bank counter and collection-account statement parsers."""

from __future__ import annotations

from contextlib import closing

import pytest

from publicpay.adapters.reconciliation import bank, counter, unionpay, wechat
from publicpay.adapters.reconciliation.frames import read_ahead
from publicpay.adapters.reconciliation.parsing import parse_statement
from publicpay.domain.reconciliation import Source, StatementRefused
from tests.unit.statement_kit import (
    COLLECTION,
    DAY,
    MER_ID,
    bank_statement,
    counter_csv,
    unionpay_text,
    wechat_bill,
)


def test_wechat_bill_lines_fees_and_summary():
    parsed = wechat.parse(wechat_bill(), day=DAY, expected_mchid="1900000001")
    rows = parsed.lines.to_dicts()
    assert [(r["kind"], r["order_no"], r["amount_fen"]) for r in rows] == [
        ("payment", "W00000000", 5000),
        ("payment", "W00000001", 5001),
        ("refund", "W00000000", 1000),
    ]
    assert rows[0]["fee_fen"] == 30
    assert rows[2]["refund_no"] == "WR00000001"
    assert parsed.totals.refunds == 1000


def test_wechat_no_bill_is_an_empty_day():
    assert wechat.parse(b"", day=DAY, expected_mchid="1900000001").line_count == 0


def test_wechat_bill_of_another_merchant_is_refused():
    with pytest.raises(StatementRefused, match="商户"):
        wechat.parse(wechat_bill(mchid="1900000099"), day=DAY, expected_mchid="1900000001")


def test_wechat_wrong_summary_is_refused():
    data = wechat_bill().replace(b"`3,`100.01", b"`4,`100.01")
    with pytest.raises(StatementRefused, match="总交易单数"):
        wechat.parse(data, day=DAY)


def test_wechat_truncated_bill_is_refused():
    data = wechat_bill()
    with pytest.raises(StatementRefused, match="不完整"):
        wechat.parse(data[: len(data) - 120], day=DAY)


def test_wechat_field_without_backtick_is_refused_with_its_line():
    data = wechat_bill().replace(b",`W00000001,", b",W00000001,")
    with pytest.raises(StatementRefused) as refused:
        wechat.parse(data, day=DAY)
    assert refused.value.line == 3


def test_wechat_non_utf8_is_refused():
    with pytest.raises(StatementRefused, match="UTF-8"):
        wechat.parse(wechat_bill().decode("utf-8").encode("gbk"), day=DAY)


def test_unionpay_statement_links_refunds_to_their_payment():
    parsed = unionpay.parse(unionpay_text().encode(), expected_mer_id=MER_ID)
    rows = parsed.lines.to_dicts()
    assert [(r["kind"], r["order_no"], r["refund_no"], r["amount_fen"]) for r in rows] == [
        ("payment", "U00000001", None, 2000),
        ("refund", "U00000001", "UR0000001", 500),
    ]
    assert rows[0]["at"] == "2026-12-05 10:00:00"


def test_unionpay_wrong_merchant_and_wrong_total_are_refused():
    with pytest.raises(StatementRefused, match="商户"):
        unionpay.parse(unionpay_text(mer_id="777290058119999").encode(), expected_mer_id=MER_ID)
    with pytest.raises(StatementRefused, match="消费金额"):
        unionpay.parse(unionpay_text().replace("payments=2000", "payments=2001").encode())


def test_unionpay_truncated_is_refused():
    text = unionpay_text()
    with pytest.raises(StatementRefused, match="TOTAL"):
        unionpay.parse(text[: text.index("#TOTAL")].encode())


def test_counter_statement_payments_and_reversals():
    parsed = counter.parse(counter_csv(), day=DAY, bank="bank_icbc_gs")
    assert [r["kind"] for r in parsed.lines.to_dicts()] == ["payment", "payment", "refund"]
    assert parsed.totals.payments == 15000
    assert parsed.totals.refunds == 5000


def test_counter_statement_wrong_total_is_refused():
    with pytest.raises(StatementRefused, match="合计"):
        counter.parse(counter_csv().replace(b"total,100.00", b"total,150.00"), day=DAY, bank="b")


def test_counter_statement_of_another_day_is_refused():
    with pytest.raises(StatementRefused, match="账单日"):
        counter.parse(counter_csv(), day=DAY.replace(day=4), bank="b")


def test_collection_account_statement_credits_and_debits():
    parsed = bank.parse(bank_statement(), expected_account=COLLECTION)
    rows = parsed.lines.to_dicts()
    assert [(r["kind"], r["order_no"], r["amount_fen"]) for r in rows] == [
        ("credit", "SETTLE:alipay:2026-12-04", 29823),
        ("credit", "汇款", 888),
        ("debit", "CLEARING:1", 20000),
    ]
    assert parsed.totals.credits == 30711


def test_collection_account_statement_of_another_account_is_refused():
    with pytest.raises(StatementRefused, match="商户"):
        bank.parse(bank_statement(account="999"), expected_account=COLLECTION)


def test_collection_account_statement_wrong_total_is_refused():
    data = bank_statement().replace(b"credits=307.11", b"credits=307.12")
    with pytest.raises(StatementRefused, match="贷方"):
        bank.parse(data)


def test_a_statement_of_another_day_than_asked_is_refused():
    with pytest.raises(StatementRefused, match="不是"):
        parse_statement(Source.BANK, bank_statement(), day=DAY.replace(day=6), merchant=COLLECTION)


@pytest.mark.parametrize(
    "cut",
    [lambda c: c[: c.index(b"count,")], lambda c: c[: len(c) // 2]],
    ids=["without totals", "cut mid-row"],
)
def test_counter_statement_truncated_is_refused(cut):
    with pytest.raises(StatementRefused, match="不完整"):
        counter.parse(cut(counter_csv()), day=DAY, bank="b")


def test_counter_statement_not_utf8_is_refused():
    gbk = counter_csv().decode("utf-8-sig").replace("paid_at", "付款时间").encode("gbk")
    with pytest.raises(StatementRefused, match="UTF-8"):
        counter.parse(gbk, day=DAY, bank="b")


def test_collection_account_statement_truncated_is_refused():
    data = bank_statement()
    with pytest.raises(StatementRefused, match="#TOTAL"):
        bank.parse(data[: data.index(b"#TOTAL")])


def test_collection_account_statement_not_utf8_is_refused():
    with pytest.raises(StatementRefused, match="UTF-8"):
        bank.parse(bank_statement().decode().replace("张三", "李四").encode("gbk"))


def test_collection_account_statement_with_a_repeated_serial_is_refused_with_its_line():
    with pytest.raises(StatementRefused, match="第 4 行：流水号重复"):
        bank.parse(bank_statement().replace(b"B2,", b"B1,"))


def test_read_ahead_hands_over_every_item_and_the_producers_error():
    def items():
        yield from (1, 2, 3)
        raise StatementRefused("坏了")

    ahead = read_ahead(items())
    assert [next(ahead), next(ahead), next(ahead)] == [1, 2, 3]
    with pytest.raises(StatementRefused, match="坏了"):
        next(ahead)


def test_closing_read_ahead_early_stops_its_producer():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    with closing(read_ahead(items())) as ahead:
        assert next(ahead) == 0
    assert len(produced) < 1000
