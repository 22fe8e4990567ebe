"""The Alipay trade bill parser: strict, with the line and the reason of every refusal."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from publicpay.adapters.reconciliation import alipay
from publicpay.domain.reconciliation import StatementRefused
from tests.unit.statement_kit import ACCOUNT, DAY, alipay_csv, alipay_trades, alipay_zip


def test_reads_payments_refunds_fees_and_totals_from_the_zip():
    parsed = alipay.parse(alipay_zip(), expected_account=ACCOUNT)
    assert parsed.business_day == DAY
    assert parsed.merchant == ACCOUNT
    rows = parsed.lines.to_dicts()
    assert [r["kind"] for r in rows] == ["payment", "payment", "payment", "refund"]
    assert rows[0]["order_no"] == "P00000000"
    assert rows[0]["trade_no"] == "20261205220000000000"
    assert rows[0]["amount_fen"] == 10000
    assert rows[0]["fee_fen"] == 60
    assert rows[3]["refund_no"] == "R00000001"
    assert rows[3]["amount_fen"] == 3000
    assert rows[3]["fee_fen"] == -18
    assert rows[0]["line_no"] == 6
    assert parsed.totals.payments == 30003
    assert parsed.totals.refunds == 3000
    assert parsed.totals.payment_count == 3


def test_an_empty_day_is_a_valid_statement():
    parsed = alipay.parse(alipay_zip([]), expected_account=ACCOUNT)
    assert parsed.line_count == 0
    assert parsed.totals.payments == 0


def test_a_bill_of_another_merchant_is_refused():
    with pytest.raises(StatementRefused, match="不是本平台的商户"):
        alipay.parse(alipay_zip(pid="2088999999999999"), expected_account=ACCOUNT)


def _gbk(text: str) -> bytes:
    return text.encode("gbk")


def test_a_wrong_total_is_refused():
    text = alipay_csv().replace("#交易合计：3笔", "#交易合计：4笔")
    with pytest.raises(StatementRefused, match="交易笔数"):
        alipay.parse(_gbk(text))


def test_a_wrong_amount_total_is_refused():
    text = alipay_csv().replace("商家实收共300.03元", "商家实收共300.04元")
    with pytest.raises(StatementRefused, match="交易金额"):
        alipay.parse(_gbk(text))


def test_a_truncated_file_is_refused():
    data = _gbk(alipay_csv())
    with pytest.raises(StatementRefused, match="不完整"):
        alipay.parse(data[: len(data) // 2])


def test_a_truncated_zip_is_refused():
    data = alipay_zip()
    with pytest.raises(StatementRefused):
        alipay.parse(data[: len(data) - 40])


def test_a_utf8_file_is_refused_as_not_gbk():
    with pytest.raises(StatementRefused):
        alipay.parse(alipay_csv().encode("utf-8"))


def test_bytes_that_are_not_gbk_in_a_row_are_refused_with_their_line():
    data = _gbk(alipay_csv()).replace(_gbk("机动车号牌工本费"), b"\xff\xfe\xfd\xfc", 1)
    with pytest.raises(StatementRefused, match="GBK") as refused:
        alipay.parse(data)
    assert refused.value.line == 6


def test_a_malformed_amount_is_refused_with_its_line():
    text = alipay_csv().replace(",100.01,100.01,", ",100.0x,100.01,")
    with pytest.raises(StatementRefused, match="金额") as refused:
        alipay.parse(_gbk(text))
    assert refused.value.line == 7


def test_a_line_of_another_day_is_refused():
    text = alipay_csv().replace("2026-12-05 10:01:00", "2026-12-04 10:01:00")
    with pytest.raises(StatementRefused, match="账单日"):
        alipay.parse(_gbk(text))


def test_a_zip_without_the_detail_file_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    with pytest.raises(StatementRefused, match="业务明细"):
        alipay.parse(buffer.getvalue())


def test_unknown_business_type_is_refused():
    trades = alipay_trades(1, refund=False)
    text = alipay_csv(trades).replace(",交易,", ",转账,")
    with pytest.raises(StatementRefused, match="业务类型"):
        alipay.parse(_gbk(text))


def _table_digest(raw: bytes) -> str:
    """The digest as it was first defined: the table's bytes (header row to the end marker's
    line) and the footer without its export time."""
    start = raw.find(_gbk("业务明细列表"))
    table_from = raw.find(b"\n", start) + 1
    end = raw.find(_gbk("业务明细列表结束"))
    table = raw[table_from : raw.rfind(b"\n", 0, end) + 1]
    footer = raw[raw.find(b"\n", end) + 1 :].decode("gbk").splitlines()
    kept = "\n".join(line for line in footer if line and not line.startswith("#导出时间"))
    return hashlib.sha256(table + kept.encode("utf-8")).hexdigest()


def test_a_bill_read_in_small_chunks_gives_the_same_lines_totals_and_digest(monkeypatch):
    trades = alipay_trades(40)
    trades[3].subject = '号牌,"工本费"\n第二行'  # a quoted field with a comma and a newline
    whole = alipay.parse(alipay_zip(trades), expected_account=ACCOUNT)
    monkeypatch.setattr(alipay, "BLOCK", 97)  # a few lines per chunk, cut anywhere
    chunked = alipay.parse(alipay_zip(trades), expected_account=ACCOUNT)
    assert chunked.lines.equals(whole.lines)
    assert chunked.lines.height == 41
    assert chunked.totals == whole.totals
    assert chunked.digest == whole.digest == _table_digest(_gbk(alipay_csv(trades)))


def test_a_bad_line_in_a_later_chunk_is_refused_with_its_line(monkeypatch):
    monkeypatch.setattr(alipay, "BLOCK", 300)
    text = alipay_csv(alipay_trades(30)).replace(",100.25,100.25,", ",100.2x,100.25,")
    with pytest.raises(StatementRefused, match="金额") as refused:
        alipay.parse(_gbk(text))
    assert refused.value.line == 6 + 25


def test_a_damaged_zip_member_is_refused_as_it_is_read(monkeypatch):
    monkeypatch.setattr(alipay, "BLOCK", 200)
    data = bytearray(alipay_zip(alipay_trades(30)))
    data[len(data) // 3] ^= 0xFF  # inside the compressed detail file
    with pytest.raises(StatementRefused, match="压缩包"):
        alipay.parse(bytes(data))


def test_a_bill_without_its_end_marker_is_refused_in_chunks(monkeypatch):
    monkeypatch.setattr(alipay, "BLOCK", 100)
    text = alipay_csv(alipay_trades(10))
    with pytest.raises(StatementRefused, match="不完整"):
        alipay.parse(_gbk(text[: text.rindex("#---")]))
