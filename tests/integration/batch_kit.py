"""Helpers for the batch registration tests: school term files (CSV and .xlsx) and signed uploads
of raw file bodies."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from openpyxl import Workbook

from publicpay.demo.seed import citizen_id
from tests.support.client import SignedClient

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = (
    "业务编号", "缴款人姓名", "缴款人类型(个人/单位)", "证件号码", "手机号", "项目编码", "数量",
    "金额(元)", "缴款期限", "备注",
)  # fmt: skip
TUITION_FEN = 110_000  # JY0101 普通高中学费, 1,100 yuan a term


def tuition_rows(count: int, *, seed: int | None = None) -> list[list[str]]:
    """A school's term tuition: one JY0101 line per pupil, unique business numbers."""
    rng = random.Random(seed)
    prefix = "WL" + uuid.uuid4().hex[:8].upper()
    return [
        [f"{prefix}-{i:04d}", f"学生{i:04d}", "个人", citizen_id(rng), f"139{i:08d}", "JY0101",
         "1", "1100.00", "2026-12-15", "2026学年第二学期学费"]
        for i in range(count)
    ]  # fmt: skip


def spoil(rows: list[list[str]], changes: Mapping[int, Mapping[int, str]]) -> list[list[str]]:
    """Rows with some cells replaced: {row index: {column index: value}}."""
    spoiled = [list(row) for row in rows]
    for index, cells in changes.items():
        for column, value in cells.items():
            spoiled[index][column] = value
    return spoiled


def csv_bytes(rows: Sequence[Sequence[str]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(HEADER), *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(
    api: SignedClient, body: bytes, content_type: str = CSV, query: str = "", **kw: Any
) -> httpx.Response:
    """POST the file as the raw body, signed over exactly those bytes."""
    path = "/api/v1/payable-batches" + (f"?{query}" if query else "")
    headers = {**api.headers("POST", path, body, **kw), "Content-Type": content_type}
    return api.http.post(path, content=body, headers=headers)
