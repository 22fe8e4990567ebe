"""The report of a batch as an Excel workbook: a summary, then one row per file row."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from publicpay.adapters.spreadsheets import append_row
from publicpay.domain.payable_batches import (
    BATCH_STATUS_LABELS,
    BatchRecord,
    RowStatus,
    reasons_text,
    row_label,
)
from publicpay.domain.time import local_text

BOLD = Font(bold=True)
YUAN = "#,##0.00"
HEADERS = ("行号", "业务编号", "缴款人", "项目编码", "数量", "金额(元)", "结果", "缴款码", "原因")


def report_workbook(record: BatchRecord, unit_name: str) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "汇总"
    _summary(summary, record, unit_name)
    _rows(book.create_sheet("逐行结果"), record)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary(sheet: Any, record: BatchRecord, unit_name: str) -> None:
    report = record.report
    lines: list[tuple[str, object]] = [
        ("批次编号", record.id),
        ("执收单位", unit_name),
        ("文件", record.file_name or "（未提供文件名）"),
        ("文件 SHA-256", record.file_sha256),
        ("提交时间", local_text(record.created_at)),
        ("提交人", record.actor),
        ("结果", BATCH_STATUS_LABELS[report.status]),
        ("数据行数", len(report.rows)),
        ("无误的行", report.count(RowStatus.ACCEPTED)),
        ("此前已登记的行", report.count(RowStatus.EXISTING)),
        ("拒绝的行", report.count(RowStatus.REFUSED)),
        ("本批新登记缴款单（笔）", report.created_count),
        ("无误的行金额合计（元）", report.amount_fen / 100),
    ]
    for label, value in lines:
        append_row(sheet, [label, value])
    sheet["B13"].number_format = YUAN
    for cell in sheet["A"]:
        cell.font = BOLD
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 70


def _rows(sheet: Any, record: BatchRecord) -> None:
    append_row(sheet, HEADERS)
    for r in record.report.rows:
        append_row(
            sheet,
            [
                r.row,
                r.biz_no,
                r.payer_name,
                r.item_code,
                r.quantity,
                r.amount_fen / 100 if r.amount_fen is not None else None,
                row_label(record.report.status, r.status),
                r.payment_code or "",
                reasons_text(r.errors),
            ],
        )
        sheet.cell(row=sheet.max_row, column=6).number_format = YUAN
    for cell in sheet[1]:
        cell.font = BOLD
    for letter, width in zip("ABCDEFGHI", (6, 18, 12, 10, 6, 12, 14, 24, 80), strict=True):
        sheet.column_dimensions[letter].width = width
