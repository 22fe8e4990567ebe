"""Cells of a batch file → one `BatchRow`, with a Chinese reason for each cell that cannot be read.

A CSV cell is text; an Excel cell may also be a number or a date. Amounts in yuan are converted
exactly (`Money.from_yuan`): a value that is not a whole number of fen is refused, never rounded.
An Excel number is read through its shortest decimal form (`repr`), so 1100.5 typed in a cell is
1100.50 yuan, while a computed 1210.0000000000002 is refused. An ID number stored as an Excel
number has lost its last digits (15 significant digits): it is refused with a hint to use text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import date, datetime
from typing import Any

from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.payable_batches import BatchRow
from publicpay.domain.payables import PayerType

Cell = object
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?e[+-]?\d+$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PERSON = frozenset({"个人", "自然人", "person"})
_ORG = frozenset({"单位", "企业", "法人", "机构", "org"})


class Refused(ValueError):
    """A cell that cannot be read; the message is the reason shown to people."""


def text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        raise Refused("应为文本")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date):
        raise Refused("应为文本，不是日期")
    return str(cell).strip()


def id_number(cell: Cell) -> str:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        raise Refused("证件号码须以文本格式填写（数字格式会丢失末位），请将该列设为文本后重新填写")
    value = text(cell).replace(" ", "").upper()
    if _SCIENTIFIC.match(value):
        raise Refused("证件号码显示为科学计数法，已丢失末位，请将该列设为文本后重新填写")
    return value


def phone(cell: Cell) -> str | None:
    value = re.sub(r"[\s-]", "", text(cell))
    return value or None


def payer_type(cell: Cell) -> PayerType | None:
    value = text(cell).lower()
    if not value:
        return None
    if value in _PERSON:
        return PayerType.PERSON
    if value in _ORG:
        return PayerType.ORG
    raise Refused("缴款人类型应为“个人”或“单位”")


def quantity(cell: Cell) -> int:
    value = _whole(cell, "数量应为正整数")
    return 1 if value is None else value


def amount_yuan(cell: Cell) -> int | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool | datetime | date):
        raise Refused("金额应为数字")
    raw = repr(cell) if isinstance(cell, float) else str(cell)
    raw = re.sub(r"[\s,¥￥]", "", raw)
    if raw.endswith("元"):
        raw = raw[:-1]
    try:
        return Money.from_yuan(raw).fen
    except InvalidAmount:
        raise Refused("金额应为以元为单位、精确到分的数值，如 1100 或 1100.50") from None


def amount_fen(cell: Cell) -> int | None:
    return _whole(cell, "金额(分)应为整数")


def due_date(cell: Cell) -> date | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    value = cell.strip() if isinstance(cell, str) else ""  # a bare Excel number is no date
    found = _DATE.match(value) or _COMPACT_DATE.match(value)
    if found:
        with suppress(ValueError):  # e.g. 2026-02-30: refused below like any other non-date
            return date(int(found[1]), int(found[2]), int(found[3]))
    raise Refused("缴款期限应为日期，如 2026-12-31")


def _whole(cell: Cell, message: str) -> int | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool):
        raise Refused(message)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        if cell.is_integer():
            return int(cell)
        raise Refused(message)
    value = text(cell)
    if not value.isdecimal() or not value.isascii():
        raise Refused(message)
    return int(value)


# column name → (BatchRow field, error key, reader)
_READERS: dict[str, tuple[str, str, Callable[[Cell], Any]]] = {
    "biz_no": ("biz_no", "biz_no", text),
    "payer_name": ("payer_name", "payer.name", text),
    "payer_type": ("payer_type", "payer.type", payer_type),
    "id_no": ("id_no", "payer.id_no", id_number),
    "phone": ("phone", "payer.phone", phone),
    "item_code": ("item_code", "item_code", lambda c: text(c).upper()),
    "quantity": ("quantity", "quantity", quantity),
    "amount_yuan": ("amount_fen", "amount_fen", amount_yuan),
    "amount_fen": ("amount_fen", "amount_fen", amount_fen),
    "due_date": ("due_date", "due_date", due_date),
    "remark": ("remark", "remark", text),
}


def row_from_cells(row: int, cells: Mapping[str, Cell]) -> BatchRow:
    """One row: `cells` maps column names (columns.py) to the cells' values."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column, cell in cells.items():
        field, key, read = _READERS[column]
        try:
            values[field] = read(cell)
        except Refused as exc:
            errors[key] = str(exc)
    return BatchRow(row=row, errors=errors, **values)
