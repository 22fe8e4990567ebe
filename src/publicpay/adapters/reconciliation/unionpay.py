"""UnionPay's statement file (the emulator's documented text layout,
`emulators/unionpay/statement.py`): `#UNIONPAY-ACP-STATEMENT|merId=…|settleDate=yyyyMMdd`, a
header, pipe-separated rows (01 消费, 04 退货, 31 消费撤销; amounts integer fen) and
`#TOTAL|count|payments|refunds|cancels|net`. UnionPay lists no fees in it."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from publicpay.adapters.reconciliation.frames import (
    FEN,
    ParsedStatement,
    check_merchant,
    check_total,
    digest,
    normalised,
    read_rows,
    require,
)
from publicpay.domain.reconciliation import LineKind, Source, StatementRefused, StatementTotals

HEADER = (
    "txnType|txnSubType|orderId|queryId|origQryId|txnTime|traceNo|traceTime|settleDate|txnAmt"
    "|respCode"
)
_FIRST = re.compile(r"^#UNIONPAY-ACP-STATEMENT\|merId=(\d{15})\|settleDate=(\d{8})$")
_TOTAL = re.compile(
    r"^#TOTAL\|count=(\d+)\|payments=(\d+)\|refunds=(\d+)\|cancels=(\d+)\|net=(-?\d+)$"
)
KINDS = {"01": LineKind.PAYMENT.value, "04": LineKind.REFUND.value, "31": LineKind.REFUND.value}


def parse(content: bytes, *, expected_mer_id: str | None = None) -> ParsedStatement:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise StatementRefused("文件不是 UTF-8 编码") from None
    lines = text.split("\n")
    first = _FIRST.match(lines[0])
    if first is None or len(lines) < 3 or lines[1] != HEADER:
        raise StatementRefused("不是银联对账文件（首行或表头不符）", line=1)
    mer_id, settle = first.groups()
    check_merchant(mer_id, expected_mer_id)
    day = date(int(settle[:4]), int(settle[4:6]), int(settle[6:]))
    total_at = next((i for i, line in enumerate(lines) if line.startswith("#TOTAL|")), None)
    if total_at is None:
        raise StatementRefused("文件不完整：缺少 #TOTAL 行")
    total = _TOTAL.match(lines[total_at])
    if total is None:
        raise StatementRefused("#TOTAL 行格式错误", line=total_at + 1)
    frame = read_rows("\n".join(lines[1:total_at]).encode() + b"\n", separator="|", quote=None)
    first_line = 3
    require(frame, pl.col("respCode").is_not_null(), "字段数不足", first_line)
    require(frame, pl.col("txnType").is_in(list(KINDS)), "txnType 应为 01、04 或 31", first_line)
    require(frame, pl.col("txnAmt").str.contains(FEN), "txnAmt 应为整数分", first_line)
    require(frame, pl.col("respCode") == "00", "respCode 不是 00", first_line)
    require(frame, pl.col("orderId") != "", "缺少 orderId", first_line)
    require(frame, pl.col("settleDate") == f"{day:%m%d}", "清算日期不是文件的清算日", first_line)
    is_payment = pl.col("txnType") == "01"
    parsed = normalised(
        frame,
        first_line,
        kind=pl.col("txnType").replace_strict(KINDS),
        order_no=pl.when(is_payment).then(pl.col("orderId")).otherwise(None),
        refund_no=pl.when(is_payment).then(None).otherwise(pl.col("orderId")),
        trade_no=pl.col("queryId"),
        amount_fen=pl.col("txnAmt").cast(pl.Int64),
        fee_fen=pl.lit(0),
        at=pl.col("txnTime")
        .str.strptime(pl.Datetime, "%Y%m%d%H%M%S", strict=False)
        .dt.strftime("%Y-%m-%d %H:%M:%S"),
    )
    # a refund names its payment by the payment's queryId
    by_query = dict(zip(frame["queryId"], frame["orderId"], strict=True))
    orig = frame["origQryId"].to_list()
    parsed = parsed.with_columns(
        pl.Series(
            "order_no",
            [o or by_query.get(q) for o, q in zip(parsed["order_no"].to_list(), orig, strict=True)],
            dtype=pl.String,
        )
    )
    return ParsedStatement(
        Source.UNIONPAY, day, mer_id, _totals(frame, total, total_at + 1), parsed, digest(content)
    )


def _totals(frame: pl.DataFrame, total: re.Match[str], line: int) -> StatementTotals:
    amounts = {
        kind: int(frame.filter(pl.col("txnType") == kind)["txnAmt"].cast(pl.Int64).sum())
        for kind in KINDS
    }
    count, payments, refunds, cancels, net = (int(g) for g in total.groups())
    check_total("笔数", count, frame.height, line=line)
    check_total("消费金额", payments, amounts["01"], line=line)
    check_total("退货金额", refunds, amounts["04"], line=line)
    check_total("撤销金额", cancels, amounts["31"], line=line)
    check_total("净额", net, payments - refunds - cancels, line=line)
    n_payments = frame.filter(pl.col("txnType") == "01").height
    return StatementTotals(
        payments=payments,
        payment_count=n_payments,
        refunds=refunds + cancels,
        refund_count=frame.height - n_payments,
    )
