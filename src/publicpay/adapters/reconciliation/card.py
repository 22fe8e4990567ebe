"""The card acquirer's settlement file of the window POS terminals (银行卡收单结算文件),
docs/card-settlement.md: GBK, `|`-separated records, CRLF (LF accepted) — a header
`H|CARD-SETTLE|01|<MID>|<settle date yyyyMMdd>|<acquirer>`, one `D|…` record per settled sale
(15 fields: code `01` 消费, MID, TID, masked card number, trace, batch, RRN, authorisation code,
transaction time, amount, fee, settled amount in integer fen, settle date, our order number)
and the totals record `T|count|amount|fee|settled`. Lines are keyed by the RRN (参考号), which
the platform keeps as the card order's channel trade number; a repeated RRN refuses the file."""

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
    first_bad,
    normalised,
    read_rows,
    require,
    require_all,
)
from publicpay.domain.reconciliation import LineKind, Source, StatementRefused, StatementTotals

ENCODING = "gbk"
FIELDS = (
    "rec",
    "txn_code",
    "mid",
    "tid",
    "card_no",
    "trace_no",
    "batch_no",
    "rrn",
    "auth_code",
    "txn_time",
    "amount",
    "fee",
    "settle_amount",
    "settle_date",
    "order_no",
)
SALE = "01"  # 消费; a sale voided in its batch (撤销) never settles and is not listed
_HEADER = re.compile(r"^H\|CARD-SETTLE\|01\|(\d{15})\|(\d{8})\|[^|]*$")
_TOTAL = re.compile(r"^T\|(\d+)\|(\d+)\|(\d+)\|(\d+)$")
MASKED = r"^[0-9]{6}\*{3,9}[0-9]{4}$"


def parse(content: bytes, *, expected_mid: str | None = None) -> ParsedStatement:
    try:
        text = content.decode(ENCODING)
    except UnicodeDecodeError:
        raise StatementRefused("文件不是 GBK 编码") from None
    lines = text.replace("\r\n", "\n").split("\n")
    header = _HEADER.match(lines[0])
    if header is None:
        raise StatementRefused("不是银行卡收单结算文件（文件头不符）", line=1)
    mid, settle = header.groups()
    check_merchant(mid, expected_mid)
    try:
        day = date(int(settle[:4]), int(settle[4:6]), int(settle[6:]))
    except ValueError:
        raise StatementRefused(f"清算日期 {settle} 不是有效日期", line=1) from None
    total_at = next((i for i, line in enumerate(lines) if line.startswith("T|")), None)
    if total_at is None:
        raise StatementRefused("文件不完整：缺少 T 汇总记录")
    if any(line for line in lines[total_at + 1 :]):
        raise StatementRefused("汇总记录之后还有内容", line=total_at + 2)
    total = _TOTAL.match(lines[total_at])
    if total is None:
        raise StatementRefused("T 汇总记录格式错误", line=total_at + 1)
    first = 2  # the file line of the first detail record
    records = pl.DataFrame({"text": lines[1:total_at]}, schema={"text": pl.String})
    separators = pl.col("text").str.count_matches("|", literal=True)
    require(
        records.with_row_index("row"),
        separators == len(FIELDS) - 1,
        f"字段数不符（应为 {len(FIELDS)} 个字段）",
        first,
    )
    body = "\n".join(["|".join(FIELDS), *lines[1:total_at]]) + "\n"
    frame = read_rows(body.encode(), separator="|", quote=None)
    _check(frame, mid, settle, first)
    _check_unique(frame, first)
    parsed = normalised(
        frame,
        first,
        kind=pl.lit(LineKind.PAYMENT.value),
        order_no=pl.col("order_no"),
        refund_no=pl.lit(None, dtype=pl.String),
        trade_no=pl.col("rrn"),
        amount_fen=pl.col("amount").cast(pl.Int64),
        fee_fen=pl.col("fee").cast(pl.Int64),
        at=_time().dt.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return ParsedStatement(
        Source.CARD, day, mid, _totals(parsed, total, total_at + 1), parsed, digest(content)
    )


def _time() -> pl.Expr:
    return pl.col("txn_time").str.strptime(pl.Datetime, "%Y%m%d%H%M%S", strict=False)


def _check(frame: pl.DataFrame, mid: str, settle: str, first: int) -> None:
    """Every detail record, field by field (the first bad line and its reason)."""
    amount, fee = pl.col("amount"), pl.col("fee")
    numbers = amount.str.contains(FEN) & fee.str.contains(FEN)
    numbers = numbers & pl.col("settle_amount").str.contains(FEN)
    checks = [
        (pl.col("rec") == "D", "明细记录应以 D 开头"),
        (pl.col("txn_code") == SALE, "交易类型应为 01（消费）"),
        (pl.col("mid") == mid, "明细的商户号与文件头不符"),
        (pl.col("tid").str.contains(r"^[0-9]{8}$"), "终端号应为 8 位数字"),
        (pl.col("card_no").str.contains(MASKED), "卡号未按前六后四脱敏"),
        (pl.col("trace_no").str.contains(r"^[0-9]{6}$"), "凭证号应为 6 位数字"),
        (pl.col("rrn").str.contains(r"^[0-9A-Za-z]{12}$"), "参考号应为 12 位"),
        (_time().is_not_null(), "交易时间应为 yyyyMMddHHmmss"),
        (numbers, "金额、手续费、清算金额应为整数分"),
        (pl.col("settle_date") == settle, "清算日期不是文件的清算日"),
        (pl.col("order_no") != "", "缺少商户订单号"),
    ]
    require_all(frame, checks, first)
    positive = amount.cast(pl.Int64) > 0
    settled = pl.col("settle_amount").cast(pl.Int64) == amount.cast(pl.Int64) - fee.cast(pl.Int64)
    require_all(
        frame,
        [(positive, "交易金额应大于 0"), (settled, "清算金额不等于交易金额减手续费")],
        first,
    )


def _check_unique(frame: pl.DataFrame, first: int) -> None:
    """An RRN names one sale: a file listing one twice is not the acquirer's settlement."""
    row = first_bad(frame, pl.col("rrn").is_first_distinct())
    if row is not None:
        rrn = frame.filter(pl.col("row") == row)["rrn"].item()
        raise StatementRefused(f"参考号 {rrn} 重复出现", line=first + row)


def _totals(parsed: pl.DataFrame, total: re.Match[str], line: int) -> StatementTotals:
    count, amount, fee, settled = (int(g) for g in total.groups())
    payments = int(parsed["amount_fen"].sum())
    fees = int(parsed["fee_fen"].sum())
    check_total("笔数", count, parsed.height, line=line)
    check_total("交易金额", amount, payments, line=line)
    check_total("手续费", fee, fees, line=line)
    check_total("清算金额", settled, payments - fees, line=line)
    return StatementTotals(payments=payments, payment_count=parsed.height, fees=fees)
