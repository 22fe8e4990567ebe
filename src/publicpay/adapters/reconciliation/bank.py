"""The collection account's bank statement (汇缴户对账单): a plain CSV defined by PublicPay for
the collecting bank (docs/bank-statement.md).

    #PUBLICPAY-COLLECTION-STATEMENT,account=<account no>,date=<yyyy-mm-dd>
    serial,booked_at,direction,amount,counterparty,reference
    B202612060001,2026-12-06 09:30:00,C,594.03,支付宝,SETTLE:alipay:2026-12-05
    #TOTAL,count=<rows>,credits=<yuan>,debits=<yuan>

UTF-8, `direction` C (credit) or D (debit), amounts positive yuan with two decimals, times
Asia/Shanghai. `reference` tells what a movement is: `SETTLE:<channel>:<day>` a channel's net
settlement of a business day, `CLEARING:<window id>` a clearing transfer out; anything else is
an unidentified credit (不明款) until someone identifies it.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from publicpay.adapters.reconciliation.frames import (
    ParsedStatement,
    check_merchant,
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

FIRST = "#PUBLICPAY-COLLECTION-STATEMENT"
HEADER = "serial,booked_at,direction,amount,counterparty,reference"
_FIRST = re.compile(rf"^{FIRST},account=([0-9A-Za-z-]+),date=(\d{{4}}-\d{{2}}-\d{{2}})$")
_TOTAL = re.compile(r"^#TOTAL,count=(\d+),credits=([0-9.]+),debits=([0-9.]+)$")


def parse(content: bytes, *, expected_account: str | None = None) -> ParsedStatement:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementRefused("文件不是 UTF-8 编码") from None
    lines = text.replace("\r\n", "\n").split("\n")
    first = _FIRST.match(lines[0])
    if first is None or len(lines) < 2 or lines[1] != HEADER:
        raise StatementRefused("不是汇缴户对账单（首行或表头不符）", line=1)
    account, day_text = first.groups()
    check_merchant(account, expected_account)
    day = date.fromisoformat(day_text)
    total_at = next((i for i, line in enumerate(lines) if line.startswith("#TOTAL")), None)
    if total_at is None:
        raise StatementRefused("文件不完整：缺少 #TOTAL 行")
    total = _TOTAL.match(lines[total_at])
    if total is None:
        raise StatementRefused("#TOTAL 行格式错误", line=total_at + 1)
    frame = read_rows(("\n".join(lines[1:total_at]) + "\n").encode())
    row1 = 3
    require(frame, pl.col("direction").is_in(["C", "D"]), "direction 应为 C 或 D", row1)
    require_yuan(frame, ["amount"], row1)
    require(frame, fen("amount") > 0, "金额应为正数", row1)
    require(frame, pl.col("serial") != "", "缺少流水号", row1)
    require(frame, pl.col("serial").is_first_distinct(), "流水号重复", row1)
    parsed = normalised(
        frame,
        row1,
        kind=pl.when(pl.col("direction") == "C")
        .then(pl.lit(LineKind.CREDIT.value))
        .otherwise(pl.lit(LineKind.DEBIT.value)),
        order_no=pl.col("reference"),
        refund_no=pl.lit(None, dtype=pl.String),
        trade_no=pl.col("serial"),
        amount_fen=fen("amount"),
        fee_fen=pl.lit(0),
        at=pl.col("booked_at"),
    )
    credits = int(parsed.filter(pl.col("kind") == "credit")["amount_fen"].sum())
    debits = int(parsed.filter(pl.col("kind") == "debit")["amount_fen"].sum())
    count, stated_credits, stated_debits = total.groups()
    line = total_at + 1
    check_total("笔数", int(count), frame.height, line=line)
    check_total(
        "贷方合计（分）", yuan_to_fen(stated_credits, "credits", line=line), credits, line=line
    )
    check_total(
        "借方合计（分）", yuan_to_fen(stated_debits, "debits", line=line), debits, line=line
    )
    totals = StatementTotals(credits=credits, debits=debits)
    return ParsedStatement(Source.BANK, day, account, totals, parsed, digest(content))
