"""Reading batch registration files: CSV in UTF-8 (with or without BOM) and GBK, Excel .xlsx,
exact yuan amounts, missing columns, and what each refused cell is told."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from publicpay.adapters.payables.batch_files.reading import MAX_FILE_BYTES, file_kind, read_rows
from publicpay.adapters.payables.batch_files.template import template_csv, template_xlsx
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payable_batches import MAX_ROWS
from publicpay.domain.payables import PayerType

ID = "330105196311138236"
HEADER = (
    "业务编号,缴款人姓名,缴款人类型(个人/单位),证件号码,手机号,项目编码,数量,金额(元),缴款期限,备注"
)


def _csv(*lines: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *lines]) + "\r\n"


def _xlsx(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_csv_is_read_in_every_encoding_excel_writes(encoding: str) -> None:
    text = _csv(f"WL-1,李娜,个人,{ID},13900139000,JY0101,1,1100.00,2026-12-15,第二学期")
    [row] = read_rows(text.encode(encoding), "csv")
    assert (row.row, row.biz_no, row.payer_name, row.payer_type) == (2, "WL-1", "李娜", "person")
    assert (row.id_no, row.phone, row.item_code, row.quantity) == (ID, "13900139000", "JY0101", 1)
    assert (row.amount_fen, row.due_date, row.remark) == (110000, date(2026, 12, 15), "第二学期")
    assert row.errors == {}


def test_yuan_amounts_are_converted_exactly_or_refused() -> None:
    text = _csv(
        f'A,甲,个人,{ID},,JY0101,1,"1,100.5",,',
        f"B,乙,个人,{ID},,JY0101,1,¥0.01,,",
        f"C,丙,个人,{ID},,JY0101,1,12.345,,",
        f"D,丁,个人,{ID},,JY0101,1,十元,,",
        f"E,戊,个人,{ID},,JY0101,1,-5,,",
    )
    rows = read_rows(text.encode(), "csv")
    assert [r.amount_fen for r in rows[:2]] == [110050, 1]
    assert rows[2].errors == {
        "amount_fen": "金额应为以元为单位、精确到分的数值，如 1100 或 1100.50"
    }
    assert "amount_fen" in rows[3].errors
    assert rows[4].amount_fen == -500  # read as written; the batch refuses it (see domain tests)


def test_fen_column_takes_whole_numbers() -> None:
    header = HEADER.replace("金额(元)", "金额（分）")
    rows = read_rows(_csv(f"A,甲,个人,{ID},,FM0101,1,20000,,", f"B,乙,个人,{ID},,FM0101,1,1.5,,",
                          header=header).encode(), "csv")  # fmt: skip
    assert rows[0].amount_fen == 20000
    assert rows[1].errors == {"amount_fen": "金额(分)应为整数"}


def test_cells_that_cannot_be_read_are_refused_per_field() -> None:
    text = _csv(f"A,甲,学生,{ID},,JY0101,两个,,2026-13-01,", "B,乙,个人,3.30105E+17,,JY0101,0,,,")
    first, second = read_rows(text.encode(), "csv")
    assert first.errors == {
        "payer.type": "缴款人类型应为“个人”或“单位”",
        "quantity": "数量应为正整数",
        "due_date": "缴款期限应为日期，如 2026-12-31",
    }
    assert "科学计数法" in second.errors["payer.id_no"]
    assert second.quantity == 0  # read; the batch refuses it (1–100000)


def test_missing_required_columns_refuse_the_file() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_rows("业务编号,缴款人姓名,数量\r\nA,甲,1\r\n".encode(), "csv")
    assert refused.value.detail == "缺少必需的列：缴款人类型(个人/单位)、证件号码、项目编码"
    assert refused.value.errors == {"file": refused.value.detail}


def test_a_file_without_a_header_or_rows_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="未找到表头"):
        read_rows(b"a,b,c\r\n1,2,3\r\n", "csv")
    with pytest.raises(ValidationFailed, match="没有数据行"):
        read_rows(_csv().encode(), "csv")


def test_english_aliases_a_title_row_and_blank_rows_are_fine() -> None:
    text = (
        "2026学年第二学期学费,,,,\r\n"
        "biz_no,payer_name,payer_type,id_no,item_code,班级\r\n"
        f"A,甲,person,{ID},jy0101,高一(3)班\r\n"
        ",,,,,\r\n"
        "A,,,,JY0102,\r\n"
    )
    rows = read_rows(text.encode(), "csv")
    assert [(r.row, r.item_code) for r in rows] == [(3, "JY0101"), (5, "JY0102")]
    assert rows[1].payer_name == ""
    assert rows[1].payer_type is None


def test_xlsx_reads_numbers_dates_and_text() -> None:
    data = _xlsx(
        ["业务编号", "缴款人姓名", "缴款人类型", "证件号码", "手机号", "项目编码", "数量",
         "金额(元)", "缴款期限"],
        [20260001, "李娜", "个人", ID, 13900139000, "JY0101", 2, 2200, datetime(2026, 12, 15)],
        ["B", "某公司", "单位", "91330105MA2CFR9T1R", None, "CG0101", 1.0, 1100.5, "2026/1/5"],
        ["C", "王芳", "个人", 330105196311138236, None, "JY0101", 1, 12.345, None],
    )  # fmt: skip
    first, second, third = read_rows(data, file_kind(data, "学费.xlsx"))
    assert (first.biz_no, first.phone, first.quantity, first.amount_fen) == (
        "20260001", "13900139000", 2, 220000,
    )  # fmt: skip
    assert first.due_date == date(2026, 12, 15)
    assert (second.payer_type, second.quantity, second.amount_fen) == (PayerType.ORG, 1, 110050)
    assert second.due_date == date(2026, 1, 5)
    assert set(third.errors) == {"payer.id_no", "amount_fen"}
    assert "文本格式" in third.errors["payer.id_no"]


def test_old_xls_broken_xlsx_and_zip_bombs_are_refused() -> None:
    with pytest.raises(ValidationFailed, match=r"\.xls"):
        file_kind(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "学费.xls")
    with pytest.raises(ValidationFailed, match="不是有效的"):
        read_rows(b"PK\x03\x04 not really a zip", "xlsx")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b"\0" * 120_000_000)
    with pytest.raises(ValidationFailed, match="解压后过大"):
        read_rows(bomb.getvalue(), "xlsx")


def test_too_many_rows_or_bytes_are_refused_with_the_limit() -> None:
    line = f"A,甲,个人,{ID},,JY0101,1,,,"
    too_long = _csv(*[line.replace("A,", f"A{i},", 1) for i in range(MAX_ROWS + 1)])
    with pytest.raises(ValidationFailed, match="5000 行"):
        read_rows(too_long.encode(), "csv")
    with pytest.raises(ValidationFailed, match="4 MB"):
        read_rows(b"x" * (MAX_FILE_BYTES + 1), "csv")


def test_the_templates_read_back_as_their_example_rows() -> None:
    for data in (template_csv(), template_xlsx()):
        rows = read_rows(data, file_kind(data))
        assert [(r.row, r.biz_no, r.item_code, r.errors) for r in rows] == [
            (2, "WL-2026-XQ-0001", "JY0101", {}),
            (3, "WL-2026-XQ-0001", "JY0102", {}),
        ]
        assert rows[0].id_no == ID
    assert template_csv().startswith(b"\xef\xbb\xbf")


# --- zip bombs --------------------------------------------------------------------------------

SST_HEAD = (
    b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' count="1" uniqueCount="1"><si><t>'
)


def _workbook_with_shared_strings(size: int) -> bytes:
    """A real .xlsx whose shared strings are replaced by one string of `size` characters
    (deflated to a few hundred KB at most: the shape of a zip bomb)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["业务编号", "缴款人姓名"])
    plain = io.BytesIO()
    book.save(plain)
    huge = SST_HEAD + b"A" * size + b"</t></si></sst>"
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for entry in source.infolist():
            if entry.filename != "xl/sharedStrings.xml":
                bomb.writestr(entry, source.read(entry))
        bomb.writestr("xl/sharedStrings.xml", huge, zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_zip_bomb_of_shared_strings_is_refused_before_it_is_unpacked() -> None:
    bomb = _workbook_with_shared_strings(90_000_000)
    assert len(bomb) < 400_000  # 90 MB of text in a few hundred KB

    with pytest.raises(ValidationFailed, match="疑似压缩炸弹"):
        read_rows(bomb, "xlsx")


def test_a_zip_member_larger_than_it_declares_is_refused() -> None:
    """Its central directory entry says 1 KB; inflating stops there and the check fails."""
    bomb = bytearray(_workbook_with_shared_strings(5_000_000))
    name = b"xl/sharedStrings.xml"
    for signature, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = 0
        while (at := bomb.find(signature, at)) != -1:
            name_at = at + (46 if signature == b"PK\x01\x02" else 30)
            if bomb[name_at : name_at + len(name)] == name:
                bomb[at + size_at : at + size_at + 4] = (1_000).to_bytes(4, "little")
            at += 4

    with pytest.raises(ValidationFailed, match="不是有效的 Excel"):
        read_rows(bytes(bomb), "xlsx")


def test_a_sheet_of_a_million_blank_rows_stops_at_the_scan_limit() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["业务编号", "缴款人姓名", "证件号码", "项目编码"])
    sheet.cell(row=1_000_000, column=1, value="x")
    out = io.BytesIO()
    book.save(out)

    with pytest.raises(ValidationFailed, match="行数过多"):
        read_rows(out.getvalue(), "xlsx")
