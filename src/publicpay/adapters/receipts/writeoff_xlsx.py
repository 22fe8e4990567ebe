"""The write-off (核销) report as an Excel workbook: summary, ranges, receipts."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from publicpay.adapters.spreadsheets import append_row
from publicpay.domain.money import format_yuan
from publicpay.domain.receipts.records import WriteOffReport
from publicpay.domain.time import local_text

BOLD = Font(bold=True)


def write_off_workbook(report: WriteOffReport) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "核销汇总"
    rows: list[tuple[str, object]] = [
        ("单位", f"{report.unit_name}（{report.unit_code}）"),
        ("期间", f"{report.date_from} 至 {report.date_to}"),
        ("开具票据（张）", report.issued_count),
        ("开具金额（元）", report.issued_fen / 100),
        ("红字票据（张）", report.red_count),
        ("红字金额（元）", report.red_fen / 100),
        ("票据净额（元）", (report.issued_fen + report.red_fen) / 100),
        ("打印次数", report.printed_count),
        ("其中重复打印", report.reprinted_count),
        ("已入账（张）", report.booked_count),
        ("已缴款缴款单（笔）", report.paid_count),
        ("实缴金额（元）", report.paid_fen / 100),
        ("已退款金额（元）", report.refunded_fen / 100),
        ("未用号码（个）", report.unused),
        ("核销结论", "平衡" if report.balanced else "不平衡"),
    ]
    for label, value in rows:
        append_row(summary, [label, value])
    for problem in report.problems:
        append_row(summary, ["问题", problem])
    for cell in summary["A"]:
        cell.font = BOLD
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 60
    _stocks(book, report)
    _receipts(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _stocks(book: Workbook, report: WriteOffReport) -> None:
    sheet = book.create_sheet("号段")
    append_row(
        sheet, ["票据代码", "起始号码", "终止号码", "下一号码", "已用", "未用", "开票点", "状态"]
    )
    for s in report.stocks:
        append_row(
            sheet,
            [
                s.code,
                f"{s.start:010d}",
                f"{s.end:010d}",
                f"{s.next:010d}",
                s.used,
                s.unused,
                s.issuing_point or "",
                s.status,
            ],
        )


def _receipts(book: Workbook, report: WriteOffReport) -> None:
    sheet = book.create_sheet("票据明细")
    append_row(
        sheet,
        ["票据代码", "票据号码", "种类", "状态", "金额（元）", "开票时间", "打印次数", "入账"],
    )
    for r in report.receipts:
        append_row(
            sheet,
            [
                r.code,
                r.number,
                "红字" if r.kind == "red" else "正常",
                "已红冲" if r.status == "reversed" else "有效",
                format_yuan(r.total_fen),
                local_text(r.issued_at),
                r.print_count,
                "是" if r.booked_at else "否",
            ],
        )
