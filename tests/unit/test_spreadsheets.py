"""The one helper every spreadsheet and CSV export uses: text a spreadsheet would run as a
formula is written as text that shows itself."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from publicpay.adapters.spreadsheets import append_row, csv_bytes

DANGEROUS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","点我")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
]


def _reopened(write_only: bool, values: list[object]) -> list[object]:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("s") if write_only else book.active
    append_row(sheet, values)
    out = io.BytesIO()
    book.save(out)
    reread = load_workbook(io.BytesIO(out.getvalue()))
    cells = next(reread.worksheets[0].iter_rows())
    assert all(c.data_type in ("s", "n") for c in cells)  # no formula cell ("f")
    return [c.value for c in cells]


@pytest.mark.parametrize("write_only", [False, True])
@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_like_text_is_stored_as_text_in_xlsx(write_only: bool, text: str) -> None:
    # (XML reads a carriage return back as a line feed; the cell is text either way)
    assert _reopened(write_only, [text]) == [text.replace("\r", "\n")]


@pytest.mark.parametrize("write_only", [False, True])
def test_formula_like_text_gets_the_quote_prefix_and_numbers_stay_numbers(
    write_only: bool,
) -> None:
    book = Workbook()
    sheet = book.active
    append_row(sheet, ["=1+1", -5, "张三", 3.5])
    a, b, c, d = next(sheet.iter_rows())

    assert (a.data_type, a.quotePrefix, a.value) == ("s", True, "=1+1")
    assert (b.value, b.data_type) == (-5, "n")
    assert (c.value, c.quotePrefix) == ("张三", False)
    assert d.value == 3.5
    assert _reopened(write_only, ["=1+1", -5, "张三"]) == ["=1+1", -5, "张三"]


def test_csv_cells_that_would_run_as_formulas_get_a_leading_quote() -> None:
    data = csv_bytes(["姓名", "金额"], [[text, -5] for text in DANGEROUS] + [["张三", 1]])

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))

    assert data.startswith(b"\xef\xbb\xbf")
    assert rows[0] == ["姓名", "金额"]
    assert [r[0] for r in rows[1:-1]] == ["'" + text for text in DANGEROUS]
    assert rows[1][1] == "-5"  # a number is not text: written as it is
    assert rows[-1] == ["张三", "1"]
