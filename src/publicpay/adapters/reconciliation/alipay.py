"""Alipay's trade bill: `<PID>0156_<yyyyMMdd>.csv.zip` holding `…_业务明细.csv` in GBK.

Layout (domain notes §6.1, `emulators/alipay/bill.py`): 4 `#` header lines (title, 账号, period),
a `#---业务明细列表---` marker, the 25-column header and the rows (long ids end in a tab, 业务类型
交易 or 退款, refunds negative, 服务费 negative on payments), a `#---业务明细列表结束---` marker
and 3 footer lines (交易合计, 退款合计, 导出时间).

Speed: the GBK bytes are read as Latin-1 (one character per byte, lossless) so that Polars can
split the million rows; the few columns that may hold Chinese are then checked strictly as GBK
on their distinct values. Every byte of the file is thus validated without decoding it all.

Memory: the zip member is inflated as it is read and the table parsed in chunks of whole lines
(BLOCK bytes), each checked and narrowed to the normalised lines at once, so a million-line
bill never has its text, nor its 25 columns, in memory whole.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from typing import IO

import polars as pl

from publicpay.adapters.reconciliation.frames import (
    LOCAL_TIME,
    ParsedStatement,
    check_merchant,
    check_total,
    fen,
    normalised,
    read_ahead,
    read_rows,
    require,
    require_all,
    yuan_checks,
    yuan_to_fen,
)
from publicpay.domain.reconciliation import LineKind, Source, StatementRefused, StatementTotals

COLUMNS = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
]
TEXT_COLUMNS = ("业务类型", "商品名称", "门店名称", "操作员", "对方账户", "券名称", "备注")
AMOUNT_COLUMNS = [c for c in COLUMNS if c.endswith("（元）")]
PAYMENT, REFUND = "交易", "退款"
_TITLE = "#支付宝业务明细查询"
_START = "业务明细列表"
_END = "业务明细列表结束"
_ACCOUNT = re.compile(r"^#账号：\[(\d+)\]$")
_PERIOD = re.compile(r"^#起始日期：\[(\d{4})年(\d{2})月(\d{2})日 00:00:00\]")
_TOTAL = re.compile(r"^#(交易|退款)合计：(\d+)笔，商家实收共(-?\d+\.\d{2})元")


def _latin(text: str) -> str:
    """`text` as the Latin-1 view of its GBK bytes."""
    return text.encode("gbk").decode("latin-1")


def _gbk(latin: str, *, line: int | None = None) -> str:
    try:
        return latin.encode("latin-1").decode("gbk")
    except UnicodeError:
        raise StatementRefused("文件不是 GBK 编码", line=line) from None


_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error)
BLOCK = 1 << 24  # bytes of the detail file inflated and parsed at a time
HEAD_LIMIT = 1 << 16  # the `#` lines before the table are a few hundred bytes


def _member(content: bytes) -> IO[bytes]:
    """The 业务明细 CSV as a stream: from the zip Alipay ships (inflated as it is read), or the
    CSV itself when uploaded bare."""
    if not content.startswith(b"PK"):
        return io.BytesIO(content)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        for info in archive.infolist():
            name = info.filename
            if not info.flag_bits & 0x800:  # GBK names without the UTF-8 flag, as Alipay's
                name = name.encode("cp437").decode("gbk", errors="replace")
            if name.endswith("_业务明细.csv"):
                return archive.open(info)
    except _ZIP_ERRORS as exc:
        raise StatementRefused(f"压缩包损坏或不完整（{exc}）") from None
    raise StatementRefused("压缩包中没有“业务明细”文件")


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in BLOCK-sized pieces (a damaged zip member is refused when it is read)."""
    try:
        while block := stream.read(BLOCK):
            yield block
    except _ZIP_ERRORS as exc:
        raise StatementRefused(f"压缩包损坏或不完整（{exc}）") from None


def _head(blocks: Iterator[bytes]) -> tuple[list[str], int, bytes]:
    """(the `#` lines before the table, the file line of the table's header row, the bytes
    read past the start marker's line)."""
    buffer, marker = b"", _START.encode("gbk")
    while (at := buffer.find(marker)) < 0 or buffer.find(b"\n", at) < 0:
        block = next(blocks, None)
        if block is None or len(buffer) > HEAD_LIMIT:
            break
        buffer += block
    if not buffer.startswith(_TITLE.encode("gbk")) or at < 0:
        raise StatementRefused("不是支付宝业务明细对账单（缺少标题或明细开始行）", line=1)
    table_from = buffer.find(b"\n", at) + 1
    if table_from <= 0:
        raise StatementRefused("文件不完整：缺少“业务明细列表结束”行")
    head = [
        _gbk(line, line=i + 1) for i, line in enumerate(buffer[:at].decode("latin-1").splitlines())
    ]
    return head, buffer.count(b"\n", 0, table_from) + 1, buffer[table_from:]


class _Table:
    """The table's bytes (its header row first) in chunks of whole lines, never cut inside a
    quoted field, found in the GBK bytes themselves; then the footer lines."""

    def __init__(self, rest: bytes, blocks: Iterator[bytes]) -> None:
        self._rest, self._blocks = rest, blocks
        self.footer: list[str] = []  # once every chunk has been read

    def chunks(self) -> Iterator[bytes]:
        buffer, marker = self._rest, _END.encode("gbk")
        while (end := buffer.find(marker)) < 0:
            cut = buffer.rfind(b"\n") + 1
            if cut and buffer.count(b'"', 0, cut) % 2 == 0:  # not inside a quoted field
                yield buffer[:cut]
                buffer = buffer[cut:]
            block = next(self._blocks, None)
            if block is None:
                raise StatementRefused("文件不完整：缺少“业务明细列表结束”行")
            buffer += block
        if last := buffer[: buffer.rfind(b"\n", 0, end) + 1]:
            yield last
        tail = buffer[end:] + b"".join(self._blocks)
        after = tail.find(b"\n")
        footer_text = tail[after + 1 :].decode("latin-1") if after >= 0 else ""
        self.footer = [_gbk(line) for line in footer_text.splitlines() if line]


def _identity(head: list[str]) -> tuple[str, date]:
    account = next((m.group(1) for h in head if (m := _ACCOUNT.match(h))), None)
    period = next((m.groups() for h in head if (m := _PERIOD.match(h))), None)
    if account is None or period is None:
        raise StatementRefused("表头缺少账号或起始日期", line=2)
    return account, date(int(period[0]), int(period[1]), int(period[2]))


def _footer_totals(footer: list[str]) -> dict[str, tuple[int, int]]:
    found = {
        m.group(1): (int(m.group(2)), yuan_to_fen(m.group(3), "合计金额"))
        for line in footer
        if (m := _TOTAL.match(line))
    }
    if PAYMENT not in found or not any(line.startswith("#导出时间") for line in footer):
        raise StatementRefused("文件不完整：缺少“交易合计”或“导出时间”行")
    return found


def _check_text_columns(frame: pl.DataFrame, first_line: int) -> None:
    """Strict GBK on the distinct values of the columns that may hold Chinese."""
    for column in TEXT_COLUMNS:
        for value in frame.get_column(column).unique().to_list():
            if value and not value.isascii():
                try:
                    value.encode("latin-1").decode("gbk")
                except UnicodeError:
                    require(frame, pl.col(column) != value, "文件不是 GBK 编码", first_line)


def parse(content: bytes, *, expected_account: str | None = None) -> ParsedStatement:
    """The statement, or `StatementRefused` naming the line and the reason.

    The detail file is read in chunks of BLOCK bytes (inflated as it is read), each parsed and
    checked whole and narrowed to the normalised lines at once: memory holds one chunk's
    columns, not the file's."""
    blocks = _blocks(_member(content))
    head, table_line, rest = _head(blocks)
    account, day = _identity(head)
    check_merchant(account, expected_account)
    # the same bill fetched again differs only in its export time: not a new statement
    same = hashlib.sha256()
    table = _Table(rest, blocks)

    def transcoded() -> Iterator[bytes]:
        for chunk in table.chunks():
            same.update(chunk)
            # the GBK bytes as Latin-1 characters, as UTF-8: lossless, and Polars reads it
            yield codecs.decode(chunk, "latin-1").encode("utf-8")

    header, rows, parts = b"", 0, list[pl.DataFrame]()
    # inflating, hashing and transcoding (on another thread) run while Polars parses
    with closing(read_ahead(transcoded())) as chunks:
        for chunk in chunks:
            if not parts:  # the header row, then the first rows
                header = chunk[: chunk.find(b"\n") + 1]
                part = _chunk_lines(chunk, 0, table_line, day, check_header=True)
            else:  # the header row again makes each chunk a table of its own
                part = _chunk_lines(header + chunk, rows, table_line, day, check_header=False)
            rows += part.height
            parts.append(part)
    if not parts:  # not even a header row
        parts.append(_chunk_lines(b"", 0, table_line, day, check_header=True))
    same.update("\n".join(f for f in table.footer if not f.startswith("#导出时间")).encode("utf-8"))
    lines = pl.concat(parts, rechunk=True)  # one chunk: what the joins read without copies
    totals = _totals(lines, _footer_totals(table.footer))
    return ParsedStatement(Source.ALIPAY, day, account, totals, lines, same.hexdigest())


def _chunk_lines(
    chunk: bytes, first_row: int, table_line: int, day: date, *, check_header: bool
) -> pl.DataFrame:
    """The normalised lines of a chunk of the table (its header row, then rows from
    `first_row` on; Latin-1 characters of the GBK bytes as UTF-8), every check of every line
    passed."""
    frame = read_rows(chunk, first_row=first_row)
    if check_header:
        names = [_gbk(name, line=table_line) for name in frame.columns[1:]]
        if names != COLUMNS:
            raise StatementRefused("表头列与支付宝业务明细格式不符", line=table_line)
    frame.columns = ["row", *COLUMNS]
    first = table_line + 1
    _check_text_columns(frame, first)
    kinds = {_latin(PAYMENT): LineKind.PAYMENT.value, _latin(REFUND): LineKind.REFUND.value}
    require_all(
        frame,
        [
            (pl.col("业务类型").is_in(list(kinds)), "业务类型应为“交易”或“退款”"),
            *yuan_checks(AMOUNT_COLUMNS),
            (pl.col("完成时间").str.contains(LOCAL_TIME), "完成时间格式错误"),
        ],
        first,
    )
    kept = ["row", "业务类型", "商家实收（元）", "服务费（元）", "完成时间"]
    kept += ["支付宝交易号", "商户订单号", "退款批次号/请求号"]
    frame = frame.select(kept)  # every column checked: the rest is let go
    frame = frame.with_columns(
        pl.col("业务类型").replace_strict(kinds).alias("kind"),
        fen("商家实收（元）").alias("received"),
        fen("服务费（元）").alias("fee"),
        pl.col("支付宝交易号").str.strip_chars_end("\t").alias("trade_no"),
        pl.col("商户订单号").str.strip_chars_end("\t").alias("order_no"),
        pl.col("退款批次号/请求号").str.strip_chars_end("\t").alias("refund_no"),
    )
    is_payment = pl.col("kind") == LineKind.PAYMENT.value
    day_text = day.isoformat()
    require_all(
        frame,
        [
            ((pl.col("trade_no") != "") & (pl.col("order_no") != ""), "缺少交易号或订单号"),
            (
                pl.when(is_payment)
                .then(pl.col("received") > 0)
                .otherwise((pl.col("received") < 0) & (pl.col("refund_no") != "")),
                "交易金额应为正、退款金额应为负且有退款请求号",
            ),
            (pl.col("完成时间").str.starts_with(day_text), f"交易日期不是账单日 {day_text}"),
        ],
        first,
    )
    lines = normalised(
        frame,
        first,
        kind=pl.col("kind"),
        order_no=pl.col("order_no"),
        refund_no=pl.when(is_payment).then(None).otherwise(pl.col("refund_no")),
        trade_no=pl.col("trade_no"),
        amount_fen=pl.col("received").abs(),
        fee_fen=-pl.col("fee"),
        at=pl.col("完成时间"),
    )
    return lines


def _totals(lines: pl.DataFrame, stated: dict[str, tuple[int, int]]) -> StatementTotals:
    sums = lines.group_by("kind").agg(
        pl.len().alias("n"),
        pl.col("amount_fen").sum().alias("amount"),
        pl.col("fee_fen").sum().alias("fee"),
    )
    by_kind = {row["kind"]: row for row in sums.to_dicts()}
    pay = by_kind.get(LineKind.PAYMENT.value, {"n": 0, "amount": 0, "fee": 0})
    ref = by_kind.get(LineKind.REFUND.value, {"n": 0, "amount": 0, "fee": 0})
    count, amount = stated[PAYMENT]
    check_total("交易笔数", count, pay["n"])
    check_total("交易金额（分）", amount, pay["amount"])
    refund_count, refund_amount = stated.get(REFUND, (0, 0))
    check_total("退款笔数", refund_count, ref["n"])
    check_total("退款金额（分）", abs(refund_amount), ref["amount"])
    return StatementTotals(
        payments=pay["amount"],
        payment_count=pay["n"],
        refunds=ref["amount"],
        refund_count=ref["n"],
        fees=pay["fee"] + ref["fee"],
    )
