"""A5 (landscape) e-receipt PDF in the national face layout, drawn with reportlab.

Speed (~7 ms a receipt on one core): the CJK font is parsed and registered once per process and
only the glyphs used are embedded; the QR is one literal path from a segno matrix with a fixed
mask; page streams skip ASCII85. The rest is reportlab's per-document font subsetting, zlib and
object formatting.
"""

from __future__ import annotations

import functools
import io
import math
import time
from collections.abc import Sequence
from pathlib import Path

import segno
from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from publicpay.domain.money import format_yuan
from publicpay.domain.receipts.receipts import REPRINT_MARK, ReceiptFace, ReceiptLine
from publicpay.domain.time import SHANGHAI

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
INK = Color(0.13, 0.13, 0.16)
FRAME = Color(0.45, 0.22, 0.18)
SEAL_RED = Color(0.85, 0.08, 0.08)
GREY = Color(0.4, 0.4, 0.4)

PAGE_W, PAGE_H = landscape(A5)
LEFT, RIGHT = 8 * mm, PAGE_W - 8 * mm
TABLE_TOP = 96 * mm
HEADER_H = 7 * mm
BODY_ROWS_H = 36 * mm
TOTAL_H = 7 * mm
NOTE_H = 14 * mm
# column widths in mm: 项目编码, 项目名称, 单位, 数量, 标准（元）, 金额（元）
COLUMNS_MM = (32, 64, 18, 20, 30, 30)
HEADINGS = ("项目编码", "项目名称", "单位", "数量", "标准（元）", "金额（元）")


@functools.cache
def register_font(font_path: str = DEFAULT_FONT_PATH, subfont_index: int = 0) -> str:
    """Register the TrueType CJK font once per process; returns its reportlab name."""
    name = f"{Path(font_path).stem}-{subfont_index}"
    # Binary (Flate only) page streams: ASCII85 on top only inflates the file and costs ~2 ms a
    # page in reportlab's pure-Python encoder. Process-wide setting; harmless for other PDFs.
    rl_config.useA85 = 0
    pdfmetrics.registerFont(TTFont(name, font_path, subfontIndex=subfont_index))
    return name


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """QR (level M, mask pattern 0) drawn as one filled path, its 4-module quiet zone inside `size`.

    The path is written in module units under one `cm` transform, so each rectangle (a run of
    dark modules in a row) is a few small integers; this is several times faster than building it
    with reportlab's path object. The mask is fixed: segno's standard choice (scoring all eight
    patterns) took ~5 of the ~12 ms a receipt cost. Every mask pattern is valid QR that every
    reader decodes (the penalty scores only avoid finder-like runs for old, weak scanners); the
    tests decode the rendered page with zbar.
    """
    matrix = segno.make_qr(payload, error="m", boost_error=False, mask=0).matrix
    count = len(matrix)
    cell = size / (count + 8)
    ops = [f"q 0 g {cell:.4f} 0 0 {cell:.4f} {x + 4 * cell:.4f} {y + 4 * cell:.4f} cm"]
    for r, row in enumerate(matrix):
        line_y = count - 1 - r
        c = 0
        while c < count:
            if row[c]:
                start = c
                while c < count and row[c]:
                    c += 1
                ops.append(f"{start} {line_y} {c - start} 1 re")
            c += 1
    ops.append("f Q")
    canvas.addLiteral("\n".join(ops))


def fitted_size(text: str, font: str, size: float, width: float, min_size: float = 5.5) -> float:
    """The largest font size <= `size` at which `text` fits in `width` (not below `min_size`)."""
    natural: float = pdfmetrics.stringWidth(text, font, size)
    if natural <= width:
        return size
    return max(min_size, size * width / natural)


def draw_round_seal(
    canvas: Canvas, font: str, *, center: tuple[float, float], name: str, inner: str
) -> None:
    """A red round seal: ring, name along the top arc, a star and `inner` text below it."""
    cx, cy = center
    radius = 11 * mm
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(1.4)
    canvas.circle(cx, cy, radius, stroke=1, fill=0)
    _arc_text(canvas, font, center=center, radius=radius - 3.3 * mm, text=name, max_span=250)
    _star(canvas, cx, cy + 0.5 * mm, 3.2 * mm)
    canvas.setFont(font, 6.5)
    canvas.drawCentredString(cx, cy - 6.2 * mm, inner)
    canvas.restoreState()


def draw_oval_seal(canvas: Canvas, font: str, *, center: tuple[float, float], name: str) -> None:
    """The red oval 财政票据监制章 at the top of the face."""
    cx, cy = center
    rx, ry = 17 * mm, 8 * mm
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(1.1)
    canvas.ellipse(cx - rx, cy - ry, cx + rx, cy + ry, stroke=1, fill=0)
    canvas.setLineWidth(0.4)
    canvas.ellipse(cx - rx + 1.0, cy - ry + 1.0, cx + rx - 1.0, cy + ry - 1.0, stroke=1, fill=0)
    canvas.setFont(font, fitted_size(name, font, 9, 2 * rx - 8 * mm))
    canvas.drawCentredString(cx, cy - 1.2 * mm, name)
    canvas.restoreState()


def _arc_text(
    canvas: Canvas,
    font: str,
    *,
    center: tuple[float, float],
    radius: float,
    text: str,
    max_span: float,
) -> None:
    cx, cy = center
    count = max(len(text), 1)
    step = min(24.0, max_span / count)
    size = min(8.0, 2 * math.pi * radius * step / 360 * 1.05)
    canvas.setFont(font, size)
    first = 90 + step * (count - 1) / 2
    for i, char in enumerate(text):
        angle = math.radians(first - i * step)
        canvas.saveState()
        canvas.translate(cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        canvas.rotate(math.degrees(angle) - 90)
        canvas.drawCentredString(0, -size * 0.35, char)
        canvas.restoreState()


def _star(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    path = canvas.beginPath()
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        angle = math.radians(90 + i * 36)
        point = (cx + r * math.cos(angle), cy + r * math.sin(angle))
        if i == 0:
            path.moveTo(*point)
        else:
            path.lineTo(*point)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def draw_stamp_text(
    canvas: Canvas, font: str, *, center: tuple[float, float], text: str, size: float
) -> None:
    """A red boxed mark such as 重复打印 or 红字 (kept level so text extraction reads it)."""
    width = pdfmetrics.stringWidth(text, font, size) + 3 * mm
    height = size + 2.5 * mm
    canvas.saveState()
    canvas.translate(*center)
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(1.2)
    canvas.rect(-width / 2, -height / 2, width, height, stroke=1, fill=0)
    canvas.setFont(font, size)
    canvas.drawCentredString(0, -size * 0.36, text)
    canvas.restoreState()


def new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], font: str) -> Canvas:
    """A compressed canvas whose initial font is ours, so no unembedded Helvetica is referenced."""
    return Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=font, lang="zh-CN")


class ReceiptPdfRenderer:
    """Renders ReceiptFace objects to one-page A5 landscape PDFs with an embedded font subset."""

    def __init__(self, font_path: str = DEFAULT_FONT_PATH, subfont_index: int = 0) -> None:
        self.font = register_font(font_path, subfont_index)

    def render(self, face: ReceiptFace, *, reprint: bool = False) -> bytes:
        buffer = io.BytesIO()
        canvas = new_canvas(buffer, (PAGE_W, PAGE_H), self.font)
        canvas.setTitle(f"{face.title} {face.code}-{face.number}")
        canvas.setAuthor(face.unit_name)
        canvas.setCreator("PublicPay")
        self._header(canvas, face)
        self._table(canvas, face)
        self._footer(canvas, face)
        if reprint:
            draw_stamp_text(
                canvas, self.font, center=(RIGHT - 22 * mm, 136 * mm), text=REPRINT_MARK, size=11
            )
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def _text(self, canvas: Canvas, x: float, y: float, text: str, size: float = 8.5) -> None:
        canvas.setFont(self.font, size)
        canvas.drawString(x, y, text)

    def _header(self, canvas: Canvas, face: ReceiptFace) -> None:
        font = self.font
        draw_qr(canvas, face.verify_url, LEFT, 114 * mm, 26 * mm)
        draw_oval_seal(canvas, font, center=(PAGE_W / 2, 136 * mm), name=face.supervisor_seal.name)
        canvas.setFillColor(SEAL_RED if face.is_red else INK)
        canvas.setFont(font, 16)
        canvas.drawCentredString(PAGE_W / 2, 120 * mm, face.title)
        half = pdfmetrics.stringWidth(face.title, font, 16) / 2 + 2 * mm
        canvas.setStrokeColor(SEAL_RED if face.is_red else INK)
        canvas.setLineWidth(0.6)
        canvas.line(PAGE_W / 2 - half, 118.2 * mm, PAGE_W / 2 + half, 118.2 * mm)
        canvas.line(PAGE_W / 2 - half, 117.5 * mm, PAGE_W / 2 + half, 117.5 * mm)
        if face.is_red:
            draw_stamp_text(
                canvas, font, center=(PAGE_W / 2 + half + 9 * mm, 121.5 * mm), text="红字", size=12
            )
        canvas.setFillColor(INK)
        issued = face.issued_at.astimezone(SHANGHAI)
        left_rows = (
            f"票据代码：{face.code}",
            f"交款人统一社会信用代码/身份证号：{face.payer_code_masked}",
            f"交款人：{face.payer_name}",
        )
        right_rows = (
            f"票据号码：{face.number}",
            f"校验码：{face.check_code}",
            f"开票日期：{issued:%Y-%m-%d}",
        )
        for i, (left, right) in enumerate(zip(left_rows, right_rows, strict=True)):
            y = (110 - 6 * i) * mm
            canvas.setFont(font, fitted_size(left, font, 8.5, 118 * mm))
            canvas.drawString(LEFT + 2 * mm, y, left)
            self._text(canvas, 148 * mm, y, right)

    def _table(self, canvas: Canvas, face: ReceiptFace) -> None:
        xs = _column_edges()
        bottom = TABLE_TOP - HEADER_H - BODY_ROWS_H - TOTAL_H - NOTE_H
        canvas.setStrokeColor(FRAME)
        canvas.setLineWidth(1.0)
        canvas.rect(LEFT, bottom, RIGHT - LEFT, TABLE_TOP - bottom, stroke=1, fill=0)
        canvas.setLineWidth(0.5)
        body_top = TABLE_TOP - HEADER_H
        body_bottom = body_top - BODY_ROWS_H
        for y in (body_top, body_bottom, body_bottom - TOTAL_H):
            canvas.line(LEFT, y, RIGHT, y)
        for x in xs[1:-1]:
            canvas.line(x, body_bottom, x, TABLE_TOP)
        canvas.setFillColor(INK)
        canvas.setFont(self.font, 8.5)
        for i, heading in enumerate(HEADINGS):
            canvas.drawCentredString((xs[i] + xs[i + 1]) / 2, TABLE_TOP - 4.8 * mm, heading)
        self._lines(canvas, face.lines, xs, body_top)
        self._totals(canvas, face, xs, body_bottom)
        self._notes(canvas, face, body_bottom - TOTAL_H, bottom)

    def _lines(
        self, canvas: Canvas, lines: Sequence[ReceiptLine], xs: list[float], top: float
    ) -> None:
        row_h = min(6 * mm, BODY_ROWS_H / len(lines))
        size = min(8.5, row_h / mm * 1.5)
        for i, line in enumerate(lines):
            y = top - (i + 1) * row_h + (row_h - size * 0.7) / 2
            cells = (
                line.item_code,
                line.item_name,
                line.unit,
                line.quantity_text,
                format_yuan(line.standard_fen).replace("¥", ""),
                format_yuan(line.amount_fen).replace("¥", ""),
            )
            for col, text in enumerate(cells):
                width = xs[col + 1] - xs[col] - 3 * mm
                canvas.setFont(self.font, fitted_size(text, self.font, size, width, 4.5))
                if col >= 3:
                    canvas.drawRightString(xs[col + 1] - 1.5 * mm, y, text)
                elif col == 1:
                    canvas.drawString(xs[col] + 1.5 * mm, y, text)
                else:
                    canvas.drawCentredString((xs[col] + xs[col + 1]) / 2, y, text)

    def _totals(self, canvas: Canvas, face: ReceiptFace, xs: list[float], top: float) -> None:
        y = top - 4.8 * mm
        canvas.line(xs[1], top, xs[1], top - TOTAL_H)
        canvas.line(xs[4], top, xs[4], top - TOTAL_H)
        canvas.setFont(self.font, 8.5)
        canvas.drawCentredString((xs[0] + xs[1]) / 2, y, "金额合计（大写）")
        words = face.total_in_words
        canvas.setFont(self.font, fitted_size(words, self.font, 9.5, xs[4] - xs[1] - 4 * mm))
        canvas.drawString(xs[1] + 2 * mm, y, words)
        canvas.setFont(self.font, 8.5)
        canvas.drawString(xs[4] + 2 * mm, y, "（小写）")
        canvas.setFont(self.font, 9.5)
        canvas.drawRightString(xs[6] - 1.5 * mm, y, format_yuan(face.total_fen))

    def _notes(self, canvas: Canvas, face: ReceiptFace, top: float, bottom: float) -> None:
        notes = [f"缴款码：{grouped(face.payment_code)}    交款渠道：{face.channel_name}"]
        if face.is_red:
            notes.append(
                f"红字冲红  原票据代码：{face.original_code}  原票据号码：{face.original_number}"
            )
        if face.remark:
            notes.append(face.remark)
        if face.supervisor_remark:
            notes.append(f"财政备注：{face.supervisor_remark}")
        self._text(canvas, LEFT + 2 * mm, top - 4.6 * mm, "备注：")
        width = RIGHT - LEFT - 16 * mm
        # baselines from 4.6 mm below the top to no lower than 1.6 mm above the bottom
        line_h = min(4.0 * mm, (top - bottom - 6.2 * mm) / max(len(notes) - 1, 1))
        for i, note in enumerate(notes):
            canvas.setFillColor(SEAL_RED if face.is_red and i == 1 else INK)
            size = min(8.5, line_h / mm * 2.1)
            canvas.setFont(self.font, fitted_size(note, self.font, size, width, 4.5))
            canvas.drawString(LEFT + 12 * mm, top - 4.6 * mm - i * line_h, note)
        canvas.setFillColor(INK)

    def _footer(self, canvas: Canvas, face: ReceiptFace) -> None:
        y = 25 * mm
        canvas.setFillColor(INK)
        self._text(canvas, LEFT + 2 * mm, y, "收款单位（章）：")
        canvas.setFont(self.font, fitted_size(face.unit_name, self.font, 8.5, 64 * mm))
        canvas.drawString(LEFT + 26 * mm, y, face.unit_name)
        self._text(canvas, 116 * mm, y, f"复核人：{face.checker}")
        self._text(canvas, 160 * mm, y, f"收款人：{face.payee}")
        if face.rec_name:  # 收款人全称/账号/开户行: the collection account (RecName …)
            rows = (
                f"收款账户：{face.rec_name}",
                f"账号：{face.rec_account}  开户行：{face.rec_bank}",
            )
            for i, row in enumerate(rows):
                canvas.setFont(self.font, fitted_size(row, self.font, 7.5, RIGHT - 116 * mm))
                canvas.drawString(116 * mm, (18 - 3.6 * i) * mm, row)
        draw_round_seal(
            canvas, self.font, center=(96 * mm, 22 * mm), name=face.unit_name, inner="票据专用章"
        )
        canvas.setFillColor(GREY)
        canvas.setFont(self.font, 6.5)
        canvas.drawString(
            LEFT + 2 * mm,
            8 * mm,
            "本票据由开票单位与财政部门电子签名，与纸质票据具有同等法律效力。"
            "扫描左上角二维码或凭票据代码、号码、校验码查验真伪。",
        )


def _column_edges() -> list[float]:
    edges = [LEFT]
    for width in COLUMNS_MM:
        edges.append(edges[-1] + width * mm)
    return edges


def grouped(code: str) -> str:
    """'3206 8226 0100 0000 0170': a payment code as printed, in groups of four."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def bench_pdf(renderer: ReceiptPdfRenderer, face: ReceiptFace, n: int = 200) -> float:
    """Milliseconds per render of `face` (after one warm-up render)."""
    renderer.render(face)
    start = time.perf_counter()
    for _ in range(n):
        renderer.render(face)
    return (time.perf_counter() - start) / n * 1000
