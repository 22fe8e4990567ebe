"""Read an uploaded batch file (CSV or Excel .xlsx) into rows.

CSV: UTF-8 with or without a byte-order mark, UTF-16 with one, or GBK/GB 18030 as Excel in China
saves it; comma-separated (a tab or semicolon in the header row is recognised too).

Excel: the first worksheet of an .xlsx workbook, read with openpyxl in read-only mode (cached
values of formulas). An upload is untrusted, so before openpyxl opens it the archive is checked
without unpacking it to memory: the entry count, each member's declared size, their sum, and the
compression ratio (Excel's XML deflates about 10:1; a zip bomb by hundreds), then each member
is inflated in chunks and counted, stopping at the limit (a member larger than it says is
refused, not read on). The shared strings, which openpyxl keeps in memory whole, have their own
smaller limit. Rows are then read as a stream with a cap on rows scanned (blank ones too) and a
time budget. openpyxl parses with the standard library's expat, which refuses entity expansion
attacks (expat ≥ 2.4) and never fetches external entities. The old binary .xls format is
refused with a hint to save as .xlsx or CSV.

Row numbers are those a person sees in Excel: the header is row 1 when it is the first row.
Blank rows are skipped (they keep their numbers).
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from openpyxl import load_workbook

from publicpay.adapters.payables.batch_files.cells import row_from_cells
from publicpay.adapters.payables.batch_files.columns import find_header
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payable_batches import MAX_ROWS, BatchRow

MAX_FILE_BYTES = 4_000_000  # 5,000 rows are well under 1 MB as CSV and less as .xlsx
# 5,000 rows of 40 columns unpack to well under 20 MB of sheet XML; a real workbook deflates
# about 10:1, a zip bomb by hundreds to thousands.
MAX_UNZIPPED_BYTES = 40_000_000
MAX_SHARED_STRINGS_BYTES = 16_000_000
MAX_RATIO = 200
MAX_ZIP_ENTRIES = 200
MAX_COLUMNS = 40
MAX_SCANNED_ROWS = 4 * MAX_ROWS  # blank rows count too: a sheet of a million empty rows stops
READ_BUDGET_S = 20.0  # reading the rows of one file takes well under a second
TOO_BIG = "Excel 文件解压后过大或压缩比异常（疑似压缩炸弹），请删除多余的工作表或另存为 CSV"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other OLE files)

Grid = list[tuple[int, Sequence[object]]]  # (row number, cells)


def file_kind(data: bytes, file_name: str = "") -> str:
    """'xlsx' or 'csv', from the file's first bytes (its name only as a hint)."""
    if data.startswith(_ZIP):
        return "xlsx"
    if data.startswith(_OLE) or file_name.lower().endswith(".xls"):
        raise _refuse("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后上传")
    if file_name.lower().endswith(".xlsx"):
        raise _refuse("不是有效的 Excel（.xlsx）文件")
    return "csv"


def read_rows(data: bytes, kind: str) -> tuple[BatchRow, ...]:
    """The data rows of a CSV or .xlsx file; file-level problems raise ValidationFailed."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(f"文件超过 {MAX_FILE_BYTES // 1_000_000} MB，请拆分后分批上传")
    grid = _xlsx_grid(data) if kind == "xlsx" else _csv_grid(data)
    header_at, columns = find_header(grid)
    rows = grid[header_at + 1 :]
    if not rows:
        raise _refuse("文件中没有数据行")
    if len(rows) > MAX_ROWS:
        raise _refuse(f"数据超过单批 {MAX_ROWS} 行的上限，请拆分后分批上传")
    return tuple(_row(number, cells, columns) for number, cells in rows)


def _row(number: int, cells: Sequence[object], columns: dict[int, str]) -> BatchRow:
    values = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
    return row_from_cells(number, values)


def _non_blank(rows: Iterable[tuple[int, Sequence[object]]]) -> Grid:
    """Rows with at least one non-blank cell, up to the header search and the row limit; at
    most MAX_SCANNED_ROWS rows are looked at, within READ_BUDGET_S."""
    grid: Grid = []
    deadline = time.monotonic() + READ_BUDGET_S
    for number, cells in rows:
        if number > MAX_SCANNED_ROWS or (number % 256 == 0 and time.monotonic() > deadline):
            raise _refuse(f"文件行数过多或读取超时，每批最多 {MAX_ROWS} 行，请拆分后分批上传")
        if any(cell is not None and str(cell).strip() for cell in cells):
            grid.append((number, cells))
            if len(grid) > MAX_ROWS + 10:  # enough to tell the file is too long
                break
    return grid


def _csv_grid(data: bytes) -> Grid:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _non_blank(enumerate(reader, start=1))
    except csv.Error as exc:
        raise _refuse(f"CSV 格式错误：{exc}") from exc


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return _decoded(data, "utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decoded(data, "utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decoded(data, "gb18030")  # GB 18030 is a superset of GBK (and GB 2312)


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _refuse("无法识别文件编码，请以 UTF-8 或 GBK 编码保存 CSV") from None


def _xlsx_grid(data: bytes) -> Grid:
    if not data.startswith(_ZIP):
        raise _refuse("不是有效的 Excel（.xlsx）文件")
    _check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a malformed workbook
        raise _refuse("无法读取 Excel 文件，请确认文件未损坏并为 .xlsx 格式") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        return _non_blank(enumerate(rows, start=1))
    finally:
        book.close()


def _check_archive(data: bytes) -> None:
    """Refuse a zip bomb before anything is unpacked to memory: declared sizes and ratios
    first, then every member inflated in chunks and counted (never past the limit)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            _check_declared(entries)
            budget = MAX_UNZIPPED_BYTES
            for entry in entries:
                budget -= _inflated_size(archive, entry, min(budget, _member_limit(entry)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise _refuse("不是有效的 Excel（.xlsx）文件") from exc


def _check_declared(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _refuse(TOO_BIG)
    if sum(entry.file_size for entry in entries) > MAX_UNZIPPED_BYTES:
        raise _refuse(TOO_BIG)
    for entry in entries:
        too_big = entry.file_size > _member_limit(entry)
        if too_big or entry.file_size > MAX_RATIO * max(entry.compress_size, 1_000):
            raise _refuse(TOO_BIG)


def _member_limit(entry: zipfile.ZipInfo) -> int:
    if entry.filename.lower().endswith("sharedstrings.xml"):
        return MAX_SHARED_STRINGS_BYTES
    return MAX_UNZIPPED_BYTES


def _inflated_size(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> int:
    """The member's real size, read in chunks; refused as soon as it passes `limit`."""
    size = 0
    with archive.open(entry) as member:
        for chunk in _chunks(member):
            size += len(chunk)
            if size > limit:
                raise _refuse(TOO_BIG)
    return size


def _chunks(member: IO[bytes]) -> Iterator[bytes]:
    while chunk := member.read(1 << 20):
        yield chunk


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": message})
