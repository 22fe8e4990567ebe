"""The downloadable template of a batch file, as CSV (UTF-8 with a byte-order mark, so Excel shows
the Chinese headers) and as .xlsx (ID, phone and business-number columns formatted as text, so
Excel keeps every digit of an 18-digit ID number), with example rows and instructions."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from publicpay.adapters.payables.batch_files.columns import TEMPLATE_HEADERS
from publicpay.adapters.spreadsheets import append_row, csv_bytes

# Two lines of one payable (a school's tuition and boarding fee): continuation rows may leave the
# payer blank. Fixed-standard items need no amount: the platform prices them from the catalogue.
EXAMPLE_ROWS = (
    ("WL-2026-XQ-0001", "李娜", "个人", "330105196311138236", "13900139000", "JY0101", "1", "",
     "2026-12-15", "2026学年第二学期（示例行，上传前请删除）"),
    ("WL-2026-XQ-0001", "", "", "", "", "JY0102", "1", "", "", ""),
)  # fmt: skip
TEXT_COLUMNS = ("A", "D", "E")  # 业务编号, 证件号码, 手机号
INSTRUCTIONS = (
    "填写说明",
    "1. 每行一个收费项目；同一缴款单有多个项目时，多行填写相同的业务编号"
    "（续行的缴款人信息可留空）。",
    "2. 业务编号在本单位内唯一；重复上传同一文件不会重复登记（已登记的行显示为“此前已登记”）。",
    "3. 缴款人类型填“个人”（证件号码为18位公民身份号码）或“单位”（统一社会信用代码）。",
    "4. 证件号码、手机号请以文本格式填写，避免 Excel 把长数字改成科学计数法。",
    "5. 固定标准的项目可不填金额（按收费标准计算）；区间或按决定书收费的项目须填写金额，"
    "以元为单位、精确到分；也可把列名改为“金额(分)”按分填写。",
    "6. 缴款期限格式为 2026-12-31，可不填。每批最多 5000 行。",
    "7. 上传后先预览每一行的校验结果，确认无误再登记；有错误的行可以修正后重新上传。",
)


def template_csv() -> bytes:
    return csv_bytes(TEMPLATE_HEADERS, EXAMPLE_ROWS)


def template_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "缴款单"
    append_row(sheet, TEMPLATE_HEADERS)
    for row in EXAMPLE_ROWS:
        append_row(sheet, [int(v) if v.isdigit() and len(v) < 6 else v for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter in TEXT_COLUMNS:
        sheet.column_dimensions[letter].number_format = "@"
    for letter, width in zip("ABCDEFGHIJ", (18, 12, 20, 22, 14, 10, 8, 10, 12, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    notes = book.create_sheet("填写说明")
    for line in INSTRUCTIONS:
        append_row(notes, [line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
