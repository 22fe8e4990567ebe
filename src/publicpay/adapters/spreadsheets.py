"""Every spreadsheet and CSV the platform writes goes through here, so that no text from a
payer, a unit or an upload is run as a formula when someone opens the file (CSV/formula
injection: `=HYPERLINK(...)`, `=cmd|...`, `@SUM(...)`).

Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written so that the
cell shows the text itself:
- in .xlsx as a text cell with Excel's quote prefix (what typing `'=1+1` does): the cell shows
  `=1+1`, and stays text when edited;
- in CSV with a leading `'` (OWASP's advice; a spreadsheet shows the rest as text).
Numbers, dates and booleans are written as they are (a negative amount stays a number).

Use `append_row(sheet, values)` for openpyxl sheets (normal or write-only) and `csv_bytes(...)`
for CSV files; later exports (statistics, lists) use the same two.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def xlsx_value(sheet: Any, value: object) -> object:
    """`value` as a cell to append: formula-like text becomes a quote-prefixed text cell."""
    if not isinstance(value, str) or not is_formula_like(value):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"  # openpyxl would store "=…" as a formula
    cell.quotePrefix = True
    return cell


def append_row(sheet: Any, values: Iterable[object]) -> None:
    sheet.append([xlsx_value(sheet, value) for value in values])


def csv_value(value: object) -> object:
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True
) -> bytes:
    """A CSV file (CRLF lines; UTF-8 with a byte-order mark so Excel reads the Chinese)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_value(h) for h in header])
    writer.writerows([csv_value(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")
