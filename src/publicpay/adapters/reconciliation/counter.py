"""The collecting bank's counter statement (银行柜面代收对账单), as in docs/bank-counter.md §4:
UTF-8 (BOM allowed) CSV `bank_serial,payment_code,amount,paid_at,status`, one row per counter
payment (`paid` or `duplicate`) and per reversal (`reversed`, negative), then `count,N` and
`total,X`. The bank is known by the credential it is fetched or uploaded with; lines are keyed
by the bank serial, which the platform keeps as the order's channel trade number."""

from __future__ import annotations

from datetime import date

import polars as pl

from publicpay.adapters.reconciliation.frames import (
    ParsedStatement,
    check_days,
    check_total,
    digest,
    fen,
    normalised,
    read_rows,
    require,
    require_yuan,
    yuan_to_fen,
)
from publicpay.domain.reconciliation import LineKind, Source, StatementRefused, StatementTotals

HEADER = "bank_serial,payment_code,amount,paid_at,status"
STATUSES = {"paid": "payment", "duplicate": "payment", "reversed": "refund"}


def parse(content: bytes, *, day: date, bank: str) -> ParsedStatement:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementRefused("文件不是 UTF-8 编码") from None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[0] != HEADER:
        raise StatementRefused("不是柜面对账单（表头不符）", line=1)
    count_at = next((i for i, line in enumerate(lines) if line.startswith("count,")), None)
    if (
        count_at is None
        or count_at + 1 >= len(lines)
        or not lines[count_at + 1].startswith("total,")
    ):
        raise StatementRefused("文件不完整：缺少 count 与 total 行")
    frame = read_rows(("\n".join(lines[:count_at]) + "\n").encode())
    first = 2
    require(
        frame,
        pl.col("status").is_in(list(STATUSES)),
        "status 应为 paid、duplicate 或 reversed",
        first,
    )
    require_yuan(frame, ["amount"], first)
    require(frame, pl.col("bank_serial") != "", "缺少银行流水号", first)
    is_payment = pl.col("status") != "reversed"
    require(
        frame,
        pl.when(is_payment).then(fen("amount") > 0).otherwise(fen("amount") < 0),
        "缴款金额应为正、冲正金额应为负",
        first,
    )
    parsed = normalised(
        frame,
        first,
        kind=pl.col("status").replace_strict(STATUSES),
        order_no=pl.lit(None, dtype=pl.String),
        refund_no=pl.lit(None, dtype=pl.String),
        trade_no=pl.col("bank_serial"),
        amount_fen=fen("amount").abs(),
        fee_fen=pl.lit(0),
        at=pl.col("paid_at"),
    )
    check_days(parsed.with_columns(row=pl.col("line_no") - first), day, first)
    stated_count = lines[count_at].split(",", 1)[1]
    if not stated_count.isdigit():
        raise StatementRefused("count 不是数字", line=count_at + 1)
    check_total("笔数", int(stated_count), frame.height, line=count_at + 1)
    net = int(frame.select(fen("amount").sum()).item() or 0)
    stated_total = yuan_to_fen(lines[count_at + 1].split(",", 1)[1], "total", line=count_at + 2)
    check_total("合计金额（分）", stated_total, net, line=count_at + 2)
    payments = parsed.filter(pl.col("kind") == LineKind.PAYMENT.value)
    refunds = parsed.filter(pl.col("kind") == LineKind.REFUND.value)
    totals = StatementTotals(
        payments=int(payments["amount_fen"].sum()),
        payment_count=payments.height,
        refunds=int(refunds["amount_fen"].sum()),
        refund_count=refunds.height,
    )
    return ParsedStatement(Source.COUNTER, day, bank, totals, parsed, digest(content))
