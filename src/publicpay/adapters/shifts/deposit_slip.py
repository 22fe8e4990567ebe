"""The deposit slip (现金解款单) PDF: one A4 page the cashier hands to the bank with the cash —
the collection account it goes to, the amount in figures and in words, the counted cash by
denomination less the float kept for change, and the reference the bank's statement will carry."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from publicpay.adapters.receipts.pdf import (
    DEFAULT_FONT_PATH,
    FRAME,
    GREY,
    INK,
    fitted_size,
    new_canvas,
    register_font,
)
from publicpay.domain.amounts_in_words import amount_in_words_rmb
from publicpay.domain.money import format_yuan
from publicpay.domain.shifts import Deposit, difference_text
from publicpay.domain.time import local_text

PAGE_W, PAGE_H = A4
LEFT, RIGHT = 18 * mm, PAGE_W - 18 * mm
ROW_H: float = 8 * mm


@dataclass(frozen=True, slots=True)
class DepositSlip:
    """What the slip shows (no personal data: the cashier's console name only)."""

    deposit: Deposit
    unit_name: str
    window_label: str
    cashier: str
    opened_at: datetime
    closed_at: datetime
    opening_float_fen: int
    difference_fen: int
    account_name: str
    account_number: str
    account_bank: str


def render_deposit_slip(slip: DepositSlip, font_path: str = DEFAULT_FONT_PATH) -> bytes:
    font = register_font(font_path)
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, (PAGE_W, PAGE_H), font)
    canvas.setTitle(f"现金解款单 {slip.deposit.deposit_no}")
    canvas.setAuthor(slip.unit_name)
    canvas.setCreator("PublicPay")
    _SlipPage(canvas, font, slip).draw()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _SlipPage:
    def __init__(self, canvas: Canvas, font: str, slip: DepositSlip) -> None:
        self.canvas = canvas
        self.font = font
        self.slip = slip

    def text(self, x: float, y: float, text: str, size: float = 10.5, width: float = 0) -> None:
        if width:
            size = fitted_size(text, self.font, size, width)
        self.canvas.setFont(self.font, size)
        self.canvas.drawString(x, y, text)

    def right(self, x: float, y: float, text: str, size: float = 10.5) -> None:
        self.canvas.setFont(self.font, size)
        self.canvas.drawRightString(x, y, text)

    def draw(self) -> None:
        c, d = self.canvas, self.slip.deposit
        c.setFillColor(INK)
        c.setFont(self.font, 22)
        c.drawCentredString(PAGE_W / 2, 270 * mm, "现金解款单")
        c.setStrokeColor(INK)
        c.setLineWidth(0.8)
        c.line(PAGE_W / 2 - 32 * mm, 266.5 * mm, PAGE_W / 2 + 32 * mm, 266.5 * mm)
        self.text(LEFT, 256 * mm, f"解款单号：{d.deposit_no}", 11)
        self.right(RIGHT, 256 * mm, f"业务日期：{d.business_date:%Y年%m月%d日}", 11)
        y = self._parties(244 * mm)
        y = self._amount(y - 4 * mm)
        y = self._pieces(y - 10 * mm)
        self._shift(y - 10 * mm)
        self._signatures()

    def _parties(self, top: float) -> float:
        s = self.slip
        rows = [
            ("收款人全称", s.account_name),
            ("收款账号", s.account_number),
            ("开户银行", s.account_bank),
            ("缴款单位", s.unit_name),
            ("收款窗口", s.window_label),
        ]
        return self._boxed_rows(top, rows)

    def _boxed_rows(self, top: float, rows: list[tuple[str, str]]) -> float:
        c = self.canvas
        bottom: float = top - len(rows) * ROW_H
        c.setStrokeColor(FRAME)
        c.setLineWidth(0.8)
        c.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
        c.line(LEFT + 32 * mm, bottom, LEFT + 32 * mm, top)
        for i, (label, value) in enumerate(rows):
            y = top - (i + 1) * ROW_H
            if i:
                c.line(LEFT, y + ROW_H, RIGHT, y + ROW_H)
            c.setFillColor(INK)
            self.text(LEFT + 3 * mm, y + 2.7 * mm, label, 10.5)
            self.text(LEFT + 35 * mm, y + 2.7 * mm, value, 10.5, width=RIGHT - LEFT - 38 * mm)
        return bottom

    def _amount(self, top: float) -> float:
        d = self.slip.deposit
        rows = [
            ("金额（大写）", amount_in_words_rmb(d.amount_fen)),
            ("金额（小写）", format_yuan(d.amount_fen)),
        ]
        return self._boxed_rows(top, rows)

    def _pieces(self, top: float) -> float:
        c, s = self.canvas, self.slip
        self.text(LEFT, top, "券别明细（结班点钞）", 12)
        counted = [(label, n, fen) for label, n, fen in s.deposit.pieces.rows() if n]
        xs = (LEFT, LEFT + 50 * mm, LEFT + 100 * mm, RIGHT)
        rows: list[tuple[str, str, str]] = [("券别", "张（枚）数", "金额（元）")]
        rows += [(label, str(n), format_yuan(fen)) for label, n, fen in counted]
        total = s.deposit.pieces.total_fen
        rows.append(("点钞合计", "", format_yuan(total)))
        rows.append(("减：留存备用金", "", format_yuan(-s.opening_float_fen)))
        rows.append(("解款金额", "", format_yuan(s.deposit.amount_fen)))
        y = top - 4 * mm
        bottom: float = y - len(rows) * 7 * mm
        c.setStrokeColor(FRAME)
        c.setLineWidth(0.6)
        c.rect(LEFT, bottom, RIGHT - LEFT, y - bottom, stroke=1, fill=0)
        for x in xs[1:-1]:
            c.line(x, bottom, x, y)
        for i, (label, n, fen) in enumerate(rows):
            row_top = y - i * 7 * mm
            if i:
                c.line(LEFT, row_top, RIGHT, row_top)
            base = row_top - 5 * mm
            c.setFillColor(INK)
            self.text(xs[0] + 3 * mm, base, label, 10)
            self.right(xs[2] - 3 * mm, base, n, 10)
            self.right(xs[3] - 3 * mm, base, fen, 10)
        return bottom

    def _shift(self, top: float) -> None:
        s = self.slip
        c = self.canvas
        c.setFillColor(GREY)
        lines = (
            f"班次：{local_text(s.opened_at)} 至 {local_text(s.closed_at)}，收费员 {s.cashier}",
            f"备用金 {format_yuan(s.opening_float_fen)}；"
            f"结班差异：{difference_text(s.difference_fen)}",
            f"银行入账时请在摘要或附言中注明解款单号 {s.deposit.deposit_no}，"
            "以便与汇缴户流水核对。",
        )
        y = top
        for line in lines:
            self.text(LEFT, y, line, 9.5, width=RIGHT - LEFT)
            y -= 6 * mm

    def _signatures(self) -> None:
        c = self.canvas
        c.setFillColor(INK)
        y = 40 * mm
        for x, label in (
            (LEFT, "解款人："),
            (LEFT + 62 * mm, "复核人："),
            (LEFT + 124 * mm, "银行经办："),
        ):
            self.text(x, y, label, 10.5)
            c.setStrokeColor(FRAME)
            c.line(x + 18 * mm, y - 1 * mm, x + 52 * mm, y - 1 * mm)
        c.setStrokeColor(FRAME)
        c.setLineWidth(0.4)
        c.line(LEFT, 24 * mm, RIGHT, 24 * mm)
        c.setFillColor(GREY)
        self.text(
            LEFT,
            18 * mm,
            "本单一式三联：银行留存、解款人留存、单位记账。统一公共支付平台生成。",
            8.5,
        )
