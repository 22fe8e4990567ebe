"""The payment notice (缴款通知书) PDF: one A4 page with the 缴款码, the pay QR and how to pay."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from publicpay.adapters.receipts.pdf import (
    COLUMNS_MM,
    DEFAULT_FONT_PATH,
    FRAME,
    GREY,
    HEADINGS,
    INK,
    SEAL_RED,
    draw_qr,
    draw_stamp_text,
    fitted_size,
    grouped,
    new_canvas,
    register_font,
)
from publicpay.domain.amounts_in_words import amount_in_words_rmb
from publicpay.domain.money import format_yuan
from publicpay.domain.receipts.receipts import ReceiptLine

PAGE_W, PAGE_H = A4
LEFT, RIGHT = 15 * mm, PAGE_W - 15 * mm
FINE_LATE_FEE_NOTE = (
    "到期不缴纳罚款的，每日按罚款数额的百分之三加处罚款（《中华人民共和国行政处罚法》第七十二条）。"
)


@dataclass(frozen=True, slots=True)
class NoticeData:
    """What a 缴款通知书 shows. `payer_id_masked` must already be masked."""

    payment_code: str
    pay_url: str
    unit_name: str
    payer_name: str
    payer_id_masked: str
    lines: tuple[ReceiptLine, ...]
    total_fen: int
    issued_on: date
    due_date: date | None = None
    title: str = "非税收入缴款通知书"
    biz_no: str = ""
    late_fee_note: str = ""  # e.g. FINE_LATE_FEE_NOTE for fines
    banks: tuple[str, ...] = ()  # 代收银行
    receiving_account_name: str = ""  # 收款人全称 (财政专户)
    receiving_account: str = ""
    receiving_bank: str = ""
    remark: str = ""
    stamp: str = ""  # a red mark across the code box once it no longer asks for money (已缴款)

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a notice needs at least one line")
        if sum(line.amount_fen for line in self.lines) != self.total_fen:
            raise ValueError("total_fen must equal the sum of the line amounts")
        if self.total_fen <= 0:
            raise ValueError("a notice asks for a positive amount")

    @property
    def total_in_words(self) -> str:
        return amount_in_words_rmb(self.total_fen)


def render_notice(notice: NoticeData, font_path: str = DEFAULT_FONT_PATH) -> bytes:
    font = register_font(font_path)
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, (PAGE_W, PAGE_H), font)
    canvas.setTitle(f"{notice.title} {notice.payment_code}")
    canvas.setAuthor(notice.unit_name)
    canvas.setCreator("PublicPay")
    page = _NoticePage(canvas, font, notice)
    page.draw()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _NoticePage:
    def __init__(self, canvas: Canvas, font: str, notice: NoticeData) -> None:
        self.canvas = canvas
        self.font = font
        self.notice = notice

    def text(self, x: float, y: float, text: str, size: float = 10.5, width: float = 0) -> None:
        if width:
            size = fitted_size(text, self.font, size, width)
        self.canvas.setFont(self.font, size)
        self.canvas.drawString(x, y, text)

    def draw(self) -> None:
        canvas, n = self.canvas, self.notice
        canvas.setFillColor(INK)
        canvas.setFont(self.font, 22)
        canvas.drawCentredString(PAGE_W / 2, 272 * mm, n.title)
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.8)
        canvas.line(PAGE_W / 2 - 45 * mm, 268.5 * mm, PAGE_W / 2 + 45 * mm, 268.5 * mm)
        self.text(LEFT, 258 * mm, f"填制日期：{n.issued_on:%Y年%m月%d日}", 10)
        if n.biz_no:
            canvas.drawRightString(RIGHT, 258 * mm, f"业务单号：{n.biz_no}")
        self._code_box()
        y = self._parties(196 * mm)
        y = self._items(y - 6 * mm)
        y = self._how_to_pay(y - 10 * mm)
        self._footer()
        if n.stamp:
            draw_stamp_text(
                canvas, self.font, center=(PAGE_W / 2 - 12 * mm, 214 * mm), text=n.stamp, size=24
            )

    def _code_box(self) -> None:
        canvas, n = self.canvas, self.notice
        top, bottom = 252 * mm, 204 * mm
        canvas.setStrokeColor(FRAME)
        canvas.setLineWidth(1.2)
        canvas.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
        canvas.setFillColor(INK)
        self.text(LEFT + 6 * mm, top - 10 * mm, "缴款码", 12)
        canvas.setFont(self.font, fitted_size(grouped(n.payment_code), self.font, 26, 120 * mm))
        canvas.drawString(LEFT + 6 * mm, top - 24 * mm, grouped(n.payment_code))
        canvas.setFillColor(GREY)
        self.text(LEFT + 6 * mm, top - 33 * mm, "扫码、柜面、自助机缴款均凭此码，请妥善保管。", 9)
        self.text(LEFT + 6 * mm, top - 40 * mm, n.pay_url, 8, width=120 * mm)
        canvas.setFillColor(INK)
        draw_qr(canvas, n.pay_url, RIGHT - 43 * mm, bottom + 6 * mm, 40 * mm)
        canvas.setFont(self.font, 9)
        canvas.drawCentredString(RIGHT - 23 * mm, bottom + 3.5 * mm, "扫码缴款")

    def _parties(self, top: float) -> float:
        n = self.notice
        rows = [
            ("执收单位", n.unit_name),
            ("交款人", n.payer_name),
            ("证件号码", n.payer_id_masked),
            ("缴款期限", f"{n.due_date:%Y年%m月%d日}前" if n.due_date else "无"),
        ]
        if n.receiving_account_name:
            rows.append(("收款人全称", n.receiving_account_name))
            rows.append(("账号 / 开户行", f"{n.receiving_account}  {n.receiving_bank}"))
        y = top
        for label, value in rows:
            self.text(LEFT + 2 * mm, y, f"{label}：", 10.5)
            self.text(LEFT + 30 * mm, y, value, 10.5, width=RIGHT - LEFT - 32 * mm)
            y -= 7 * mm
        return y

    def _items(self, top: float) -> float:
        canvas, n = self.canvas, self.notice
        xs = [LEFT]
        scale = (RIGHT - LEFT) / (sum(COLUMNS_MM) * mm)
        for width in COLUMNS_MM:
            xs.append(xs[-1] + width * mm * scale)
        row_h: float = 8 * mm
        rows = len(n.lines) + 2
        bottom = top - rows * row_h
        canvas.setStrokeColor(FRAME)
        canvas.setLineWidth(0.6)
        canvas.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
        for i in range(1, rows):
            canvas.line(LEFT, top - i * row_h, RIGHT, top - i * row_h)
        for x in xs[1:-1]:
            canvas.line(x, bottom + row_h, x, top)
        canvas.setFillColor(INK)
        canvas.setFont(self.font, 10)
        for i, heading in enumerate(HEADINGS):
            canvas.drawCentredString((xs[i] + xs[i + 1]) / 2, top - 5.5 * mm, heading)
        for r, line in enumerate(n.lines, start=1):
            self._item_row(xs, top - r * row_h - 5.5 * mm, line)
        y = bottom + 2.8 * mm
        self.text(LEFT + 2 * mm, y, "合计", 10.5)
        self.text(LEFT + 14 * mm, y, f"（大写）{n.total_in_words}", 11, width=110 * mm)
        canvas.setFont(self.font, 12)
        canvas.drawRightString(RIGHT - 2 * mm, y, f"（小写）{format_yuan(n.total_fen)}")
        if n.late_fee_note:
            canvas.setFillColor(SEAL_RED)
            self.text(LEFT, bottom - 6 * mm, n.late_fee_note, 9.5, width=RIGHT - LEFT)
            canvas.setFillColor(INK)
            bottom -= 6 * mm
        return bottom

    def _item_row(self, xs: list[float], y: float, line: ReceiptLine) -> None:
        cells = (
            line.item_code,
            line.item_name,
            line.unit,
            line.quantity_text,
            format_yuan(line.standard_fen).replace("¥", ""),
            format_yuan(line.amount_fen).replace("¥", ""),
        )
        for col, cell in enumerate(cells):
            width = xs[col + 1] - xs[col] - 3 * mm
            self.canvas.setFont(self.font, fitted_size(cell, self.font, 10, width))
            if col >= 3:
                self.canvas.drawRightString(xs[col + 1] - 2 * mm, y, cell)
            elif col == 1:
                self.canvas.drawString(xs[col] + 2 * mm, y, cell)
            else:
                self.canvas.drawCentredString((xs[col] + xs[col + 1]) / 2, y, cell)

    def _how_to_pay(self, top: float) -> float:
        n = self.notice
        banks = "、".join(n.banks) if n.banks else "代收银行"
        steps = (
            "扫码支付：使用支付宝、微信或云闪付扫描本通知书右上方二维码，核对缴款信息和金额后支付。",
            f"柜面缴款：持本通知书或告知缴款码，到{banks}任一营业网点柜面缴款。",
            "自助机缴款：在政务服务大厅的公共支付自助机上扫描或输入缴款码缴款。",
            "缴款成功后开具财政电子票据，可凭缴款码查询、下载，或在自助机打印。",
        )
        self.text(LEFT, top, "缴款方式", 12)
        y: float = top - 8 * mm
        for i, step in enumerate(steps, start=1):
            self.text(LEFT + 4 * mm, y, f"{i}. {step}", 10, width=RIGHT - LEFT - 6 * mm)
            y -= 6.5 * mm
        if n.remark:
            self.text(LEFT, y - 2 * mm, f"备注：{n.remark}", 10, width=RIGHT - LEFT)
            y -= 8 * mm
        return y

    def _footer(self) -> None:
        canvas, n = self.canvas, self.notice
        canvas.setFillColor(INK)
        self.text(RIGHT - 85 * mm, 40 * mm, f"执收单位：{n.unit_name}", 10.5, width=85 * mm)
        self.text(RIGHT - 85 * mm, 33 * mm, f"填制日期：{n.issued_on:%Y年%m月%d日}", 10.5)
        canvas.setStrokeColor(FRAME)
        canvas.setLineWidth(0.4)
        canvas.line(LEFT, 22 * mm, RIGHT, 22 * mm)
        canvas.setFillColor(GREY)
        self.text(
            LEFT,
            16 * mm,
            "请核对缴款信息，同一缴款码只需缴款一次，请勿重复缴款。如有疑问请联系执收单位。",
            8.5,
        )
