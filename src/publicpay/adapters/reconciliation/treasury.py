"""The treasury side of clearing: the 5408 voucher (非税收入缴库单, domain notes §3.4) the
platform sends, the treasury's receipt (入库回执) it answers, and the HTTP client.

Voucher: `<MOF><VoucherBody StYear VtCode="5408" VoucherNo><Voucher>` main fields, then
`<DetailList><Detail>` per payment code, subject and level: IncomeSortCode (收入分类科目), Amt,
Remark (= 预算级次), Hold1 = 缴款识别码 (payment code), Hold2 = 缴款人 (masked), Hold3 = 收款人账号,
Hold4 = 执收单位名称. Details sum to SumAmt. Amounts in yuan with two decimals.

Receipt (docs/bank-statement.md §3): `<MOF><VoucherBody VtCode="5408" VoucherNo><Receipt>`
with Result (1 入库, 0 退回), XSumAmt (入库金额), XAcctDate (yyyyMMdd), Reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

import httpx
import polars as pl

from publicpay.adapters.reconciliation.clearing_split import FrameLines
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.clearing import ClearingLine, ReceiptRefused, TreasuryReceipt, Window
from publicpay.domain.errors import ChannelUnavailable
from publicpay.domain.money import Money

LEVEL_CODES = {
    BudgetLevel.CENTRAL: ("1", "中央级"),
    BudgetLevel.PROVINCE: ("2", "省级"),
    BudgetLevel.CITY: ("3", "市级"),
    BudgetLevel.COUNTY: ("4", "县级"),
}
SPECIAL_CODE = ("9", "财政专户")
_YUAN = re.compile(r"^\d+\.\d{2}$")


@dataclass(frozen=True, slots=True)
class VoucherParties:
    fin_org_code: str
    treasury_code: str
    account_no: str
    account_name: str
    bank_name: str


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def _level(line: ClearingLine) -> tuple[str, str]:
    if line.destination is Destination.SPECIAL_ACCOUNT:
        return SPECIAL_CODE
    return LEVEL_CODES[line.level]


def voucher_xml(window: Window, lines: Sequence[ClearingLine], parties: VoucherParties) -> str:
    """The 5408 voucher of a window (its details sum to SumAmt, each names its payment code)."""
    if window.voucher_no is None:
        raise ValueError("a voucher needs its number")
    frame = _frame(lines)
    total = int(frame.get_column("amount_fen").sum())
    if total != window.total_fen:
        raise ValueError("voucher details do not sum to the window's total")
    root = ET.Element("MOF")
    body = ET.SubElement(
        root,
        "VoucherBody",
        StYear=str(window.business_day.year),
        VtCode="5408",
        VoucherNo=window.voucher_no,
    )
    voucher = ET.SubElement(body, "Voucher")
    for tag, value in (
        ("Id", str(window.id)),
        ("VouDate", f"{window.business_day:%Y%m%d}"),
        ("VoucherNo", window.voucher_no),
        ("FinOrgCode", parties.fin_org_code),
        ("TreCode", parties.treasury_code),
        ("AgentAcctNo", parties.account_no),
        ("AgentAcctName", parties.account_name),
        ("AgentAcctBankName", parties.bank_name),
        ("XAddWord", f"{window.business_day.isoformat()} 非税收入清算"),
        ("SumAmt", Money(total).to_yuan()),
        ("GrossAmt", Money(window.gross_fen).to_yuan()),
        ("RefundAmt", Money(window.refunds_fen).to_yuan()),
        ("FeeAmt", Money(window.fees_fen).to_yuan()),
        # refunds the collection account paid by bank transfer, netted (only when there are)
        *(
            [("TransferRefundAmt", Money(window.transfer_refunds_fen).to_yuan())]
            if window.transfer_refunds_fen
            else []
        ),
        # refund parts no level could take back today (held for the next window) and earlier
        # ones taken back here (only when there are)
        *([("HeldRefundAmt", Money(window.held_fen).to_yuan())] if window.held_fen else []),
        *(
            [("CarriedRefundAmt", Money(window.carried_fen).to_yuan())]
            if window.carried_fen
            else []
        ),
    ):
        _text(voucher, tag, value)
    ET.SubElement(voucher, "DetailList").text = _DETAILS
    head, tail = ET.tostring(root, encoding="unicode", xml_declaration=True).split(_DETAILS)
    details = frame.select(_detail(escape(parties.account_no))).to_series()
    # one string made once (joining in Python would copy the document again)
    document = pl.concat([pl.Series([head]), details, pl.Series([tail])]).str.join("")
    return str(document.item())


_DETAILS = "\x00details\x00"  # where the details go (written column by column)


def _frame(lines: Sequence[ClearingLine]) -> pl.DataFrame:
    """The lines as columns (those of a columnar split already are)."""
    if isinstance(lines, FrameLines):
        return lines.frame
    columns = zip(*lines, strict=True) if lines else [()] * len(FrameLines.COLUMNS)
    dtypes = (pl.String, pl.String, pl.String, pl.String, pl.Int64, pl.String)
    return pl.DataFrame(
        {
            name: pl.Series(values, dtype=dtype)
            for name, values, dtype in zip(FrameLines.COLUMNS, columns, dtypes, strict=True)
        }
    )


def _escaped(column: str) -> pl.Expr:
    """XML text escaping (`xml.sax.saxutils.escape`: &, <, >) of a text column."""
    expr = pl.col(column)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        expr = expr.str.replace_all(raw, entity, literal=True)
    return expr


def _detail(account: str) -> pl.Expr:
    """Each line's `<Detail>`, numbered from 1."""
    level_code = {level.value: code for level, (code, _) in LEVEL_CODES.items()}
    level_name = {level.value: name for level, (_, name) in LEVEL_CODES.items()}
    special = pl.col("destination") == Destination.SPECIAL_ACCOUNT.value
    fen = pl.col("amount_fen")
    return pl.concat_str(
        pl.lit("<Detail><Id>"),
        pl.int_range(1, pl.len() + 1).cast(pl.String),
        pl.lit("</Id><IncomeSortCode>"),
        _escaped("subject_code"),
        pl.lit("</IncomeSortCode><Amt>"),
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (fen.abs() // 100).cast(pl.String),
        pl.lit("."),
        (fen.abs() % 100).cast(pl.String).str.zfill(2),
        pl.lit("</Amt><Remark>"),
        pl.when(special)
        .then(pl.lit(SPECIAL_CODE[0]))
        .otherwise(pl.col("level").replace_strict(level_code)),
        pl.lit("</Remark><BudgetLevelName>"),
        pl.when(special)
        .then(pl.lit(SPECIAL_CODE[1]))
        .otherwise(pl.col("level").replace_strict(level_name)),
        pl.lit("</BudgetLevelName><Hold1>"),
        _escaped("payment_code"),
        pl.lit(f"</Hold1><Hold2>缴款人</Hold2><Hold3>{account}</Hold3><Hold4>"),
        _escaped("unit_name"),
        pl.lit("</Hold4></Detail>"),
    )


def _field(receipt: ET.Element, tag: str) -> str:
    found = receipt.find(tag)
    return (found.text or "").strip() if found is not None else ""


def parse_receipt(content: bytes) -> TreasuryReceipt:
    """The treasury's receipt, or ReceiptRefused naming what is wrong with it."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise ReceiptRefused("回执含有不允许的 DTD/实体声明")
    try:
        root = ET.fromstring(content)  # noqa: S314 - DTDs and entities refused above
    except ET.ParseError as exc:
        raise ReceiptRefused(f"回执不是合法的 XML（{exc}）") from None
    body = root.find("VoucherBody")
    receipt = body.find("Receipt") if body is not None else None
    if root.tag != "MOF" or body is None or receipt is None or body.get("VtCode") != "5408":
        raise ReceiptRefused("不是 5408 缴库回执（缺少 MOF/VoucherBody/Receipt）")
    voucher_no = body.get("VoucherNo", "")
    result, amount = _field(receipt, "Result"), _field(receipt, "XSumAmt")
    if result not in ("0", "1") or not voucher_no:
        raise ReceiptRefused("回执缺少凭证号或处理结果（Result 应为 1 或 0）")
    if not _YUAN.match(amount):
        raise ReceiptRefused(f"回执入库金额“{amount}”不是两位小数的金额")
    day_text = _field(receipt, "XAcctDate")
    try:
        acct = date(int(day_text[:4]), int(day_text[4:6]), int(day_text[6:8])) if day_text else None
    except ValueError:
        raise ReceiptRefused(f"回执入库日期“{day_text}”格式错误") from None
    fen = Money.from_yuan(amount).fen
    return TreasuryReceipt(voucher_no, result == "1", fen, acct, _field(receipt, "Reason"))


class HttpTreasury:
    """The treasury as the clearing service sees it: the voucher written, sent over HTTP, the
    receipt read."""

    def __init__(self, url: str, parties: VoucherParties, timeout_s: float = 10.0) -> None:
        self._url = url
        self._parties = parties
        self._timeout = timeout_s

    def voucher(self, window: Window, lines: Sequence[ClearingLine]) -> str:
        return voucher_xml(window, lines, self._parties)

    def parse(self, content: bytes) -> TreasuryReceipt:
        return parse_receipt(content)

    def submit(self, voucher: str) -> bytes:
        try:
            response = httpx.post(
                self._url,
                content=voucher.encode("utf-8"),
                headers={"Content-Type": "application/xml; charset=utf-8"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"国库前置机无应答：{type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ChannelUnavailable(f"国库前置机答复 HTTP {response.status_code}")
        return response.content
