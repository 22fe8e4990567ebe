"""WeChat Pay's trade bill, bill_type ALL (domain notes §6.2, `emulators/wechat/bill.py`).

UTF-8 CSV: the detail header, one row per payment (交易状态 SUCCESS) or refund (REFUND) with
every field prefixed by a backtick, then the summary header and the summary row. No bill for a
day with no business: WeChat answers NO_STATEMENT_EXIST, which the gateway gives as b"" (a valid
empty day).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from publicpay.adapters.reconciliation.frames import (
    ParsedStatement,
    check_days,
    check_merchant,
    check_total,
    digest,
    empty_lines,
    fen,
    normalised,
    read_rows,
    require,
    require_yuan,
    yuan_to_fen,
)
from publicpay.domain.reconciliation import LineKind, Source, StatementRefused, StatementTotals

DETAIL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
STATES = {"SUCCESS": LineKind.PAYMENT.value, "REFUND": LineKind.REFUND.value}


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StatementRefused("文件不是 UTF-8 编码", line=line) from None


def _split(text: str) -> tuple[str, list[str], int]:
    """(detail table text, the summary's fields, file line of the summary row)."""
    if not text.startswith(DETAIL_HEADER):
        raise StatementRefused("不是微信支付交易账单（表头不符）", line=1)
    at = text.find("\n" + SUMMARY_HEADER)
    if at < 0:
        raise StatementRefused("文件不完整：缺少汇总行")
    summary_lines = text[at + 1 :].splitlines()
    summary_line = text.count("\n", 0, at) + 3
    if len(summary_lines) < 2 or not summary_lines[1]:
        raise StatementRefused("文件不完整：缺少汇总数据", line=summary_line)
    fields = summary_lines[1].split(",")
    if len(fields) != 7 or not all(f.startswith("`") for f in fields):
        raise StatementRefused("汇总数据格式错误", line=summary_line)
    return text[: at + 1], [f[1:] for f in fields], summary_line


def parse(content: bytes, *, day: date, expected_mchid: str | None = None) -> ParsedStatement:
    if not content.strip():
        totals = StatementTotals()
        return ParsedStatement(
            Source.WECHAT, day, expected_mchid or "", totals, empty_lines(), digest(content)
        )
    table, summary, summary_line = _split(_decode(content))
    frame = read_rows(table.encode("utf-8"), quote=None)
    columns = DETAIL_HEADER.split(",")
    if frame.columns[1:] != columns:
        raise StatementRefused("明细列数与表头不符", line=1)
    first = 2
    require(
        frame,
        pl.all_horizontal(pl.col(c).str.starts_with("`") for c in columns),
        "明细字段应以 ` 开头",
        first,
    )
    frame = frame.with_columns(pl.col(c).str.strip_prefix("`") for c in columns)
    merchants = frame.get_column("商户号").unique().to_list()
    for merchant in merchants:
        check_merchant(merchant, expected_mchid)
    require(frame, pl.col("交易状态").is_in(list(STATES)), "交易状态应为 SUCCESS 或 REFUND", first)
    require_yuan(frame, ["应结订单金额", "退款金额", "手续费", "订单金额"], first)
    frame = frame.with_columns(pl.col("交易状态").replace_strict(STATES).alias("kind"))
    is_payment = pl.col("kind") == LineKind.PAYMENT.value
    require(frame, pl.col("商户订单号") != "", "缺少商户订单号", first)
    require(
        frame,
        pl.when(is_payment)
        .then(fen("应结订单金额") > 0)
        .otherwise((fen("退款金额") > 0) & (pl.col("商户退款单号") != "")),
        "支付金额应为正；退款行应有退款金额与商户退款单号",
        first,
    )
    lines = normalised(
        frame,
        first,
        kind=pl.col("kind"),
        order_no=pl.col("商户订单号"),
        refund_no=pl.when(is_payment).then(None).otherwise(pl.col("商户退款单号")),
        trade_no=pl.col("微信订单号"),
        amount_fen=pl.when(is_payment).then(fen("应结订单金额")).otherwise(fen("退款金额")),
        fee_fen=fen("手续费"),
        at=pl.col("交易时间"),
    )
    check_days(lines.with_columns(row=pl.col("line_no") - first), day, first)
    totals = _totals(lines, summary, summary_line)
    merchant = merchants[0] if merchants else (expected_mchid or "")
    return ParsedStatement(Source.WECHAT, day, merchant, totals, lines, digest(content))


def _totals(lines: pl.DataFrame, summary: list[str], line: int) -> StatementTotals:
    payments = lines.filter(pl.col("kind") == LineKind.PAYMENT.value)
    refunds = lines.filter(pl.col("kind") == LineKind.REFUND.value)
    paid, refunded = int(payments["amount_fen"].sum()), int(refunds["amount_fen"].sum())
    fees = int(lines["fee_fen"].sum())
    if not summary[0].isdigit():
        raise StatementRefused("总交易单数不是数字", line=line)
    check_total("总交易单数", int(summary[0]), lines.height, line=line)
    check_total("应结订单总金额（分）", yuan_to_fen(summary[1], "应结订单总金额"), paid, line=line)
    check_total("退款总金额（分）", yuan_to_fen(summary[2], "退款总金额"), refunded, line=line)
    check_total("手续费总金额（分）", yuan_to_fen(summary[4], "手续费总金额"), fees, line=line)
    return StatementTotals(
        payments=paid,
        payment_count=payments.height,
        refunds=refunded,
        refund_count=refunds.height,
        fees=fees,
    )
