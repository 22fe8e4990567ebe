"""The shift report (班次报表) as an Excel workbook: one row per shift, and the deposits."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from publicpay.adapters.db.queries.shifts import ShiftRow
from publicpay.adapters.spreadsheets import append_row
from publicpay.domain.shifts import TAKINGS_LABELS, TakingsKind, difference_text
from publicpay.domain.time import local_text

BOLD = Font(bold=True)
HEADER = (
    "班次", "执收单位", "窗口", "收费员", "状态", "开班时间", "结班时间", "备用金（元）",
    *(f"{label}（元）" for label in TAKINGS_LABELS.values()),
    "收款笔数", "收款合计（元）", "点钞（元）", "差异（元）", "差异说明", "确认人", "解款单号",
    "解款金额（元）", "解款状态",
)  # fmt: skip


def shift_report_workbook(rows: Sequence[ShiftRow], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "班次报表"
    append_row(sheet, [title])
    sheet["A1"].font = BOLD
    append_row(sheet, HEADER)
    for cell in sheet[2]:
        cell.font = BOLD
    for row in rows:
        append_row(sheet, report_cells(row))
    total = sum(r.taken_fen for r in rows)
    diff = sum(r.shift.difference_fen for r in rows)
    append_row(sheet, ["合计", "", "", "", f"{len(rows)} 个班次", "", "", "", "", "", "", "",
                       "", total / 100, "", diff / 100])  # fmt: skip
    for column, width in (("B", 28), ("C", 24), ("F", 20), ("G", 20), ("Q", 30), ("S", 22)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_cells(r: ShiftRow) -> list[object]:
    s = r.shift
    takings = dict.fromkeys(TakingsKind, 0)
    if s.closing is not None:
        takings.update({line.kind: line.amount_fen for line in s.closing.takings.lines})
    else:
        takings[TakingsKind.CASH] = r.cash_fen
    counted = s.closing.counted_fen / 100 if s.closing else ""
    note = s.closing.note if s.closing else ""
    if s.confirmation is not None:
        note = f"{note}；主管：{s.confirmation.note}" if note else s.confirmation.note
    return [
        s.id,
        r.unit_name,
        r.window_label,
        s.cashier,
        r.status_label,
        local_text(s.opened_at),
        local_text(s.closed_at) if s.closed_at else "",
        s.opening_float_fen / 100,
        *(fen / 100 for fen in takings.values()),
        r.taken_count,
        r.taken_fen / 100,
        counted,
        s.difference_fen / 100 if s.closing else "",
        difference_text(s.difference_fen) + (f"：{note}" if note else "") if s.closing else "",
        s.confirmation.by if s.confirmation else "",
        r.deposit_no or "",
        r.deposit_fen / 100 if r.deposit_fen is not None else "",
        r.deposit_label,
    ]
