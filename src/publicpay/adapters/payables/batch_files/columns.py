"""The columns of a batch file: Chinese headers (as in the template) with English aliases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from publicpay.domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # what the cell becomes (cells.py)
    header: str  # the template's header
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS = (
    Column("biz_no", "业务编号", ("业务号", "单位业务编号", "biz_no"), required=True),
    Column(
        "payer_name", "缴款人姓名", ("缴款人", "缴款人名称", "姓名", "payer_name"), required=True
    ),
    Column("payer_type", "缴款人类型(个人/单位)", ("缴款人类型", "payer_type"), required=True),
    Column(
        "id_no",
        "证件号码",
        ("身份证号", "身份证号码", "公民身份号码", "统一社会信用代码", "证件号", "id_no"),
        required=True,
    ),
    Column("phone", "手机号", ("手机号码", "phone")),
    Column("item_code", "项目编码", ("收费项目编码", "item_code"), required=True),
    Column("quantity", "数量", ("quantity",)),
    Column("amount_yuan", "金额(元)", ("金额", "amount_yuan", "amount")),
    Column("amount_fen", "金额(分)", ("amount_fen",)),
    Column("due_date", "缴款期限", ("缴款截止日期", "截止日期", "due_date")),
    Column("remark", "备注", ("remark",)),
)
TEMPLATE_HEADERS = tuple(c.header for c in COLUMNS if c.name != "amount_fen")
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is fine


def header_key(text: object) -> str:
    """Headers compare without spaces, case, a required-mark '*' or full-width parentheses."""
    plain = re.sub(r"[\s\u3000*]", "", str(text or ""))
    return plain.replace("（", "(").replace("）", ")").lower()


_BY_KEY = {header_key(name): c for c in COLUMNS for name in (c.header, *c.aliases)}


def find_header(rows: Sequence[tuple[int, Sequence[object]]]) -> tuple[int, dict[int, str]]:
    """(index in `rows` of the header row, column position → column name)."""
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [header_key(cell) for cell in cells]
        if any(_BY_KEY.get(k) is COLUMNS[0] for k in keys):
            return index, _columns(keys)
    raise _refuse("未找到表头：第一行应为“业务编号、缴款人姓名…”等列名，请使用模板")


def _columns(keys: list[str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for position, key in enumerate(keys):
        column = _BY_KEY.get(key)
        if column is None:
            continue  # other columns (班级, 学号 …) are ignored
        if column.name in found.values():
            raise _refuse(f"表头中“{column.header}”列出现了不止一次")
        found[position] = column.name
    names = set(found.values())
    missing = [c.header for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise _refuse(f"缺少必需的列：{'、'.join(missing)}")
    if {"amount_yuan", "amount_fen"} <= names:
        raise _refuse("“金额(元)”与“金额(分)”只能保留一列")
    return found


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": message})
