"""Exports of the console's lists and statistics: CSV streamed in chunks and Excel written
row by row (openpyxl's write-only mode) into a temporary file, so memory stays flat whatever
the number of rows. Every text cell goes through `spreadsheets` (formula-looking text is
escaped); amounts are yuan with two decimals (exact `Decimal`s in Excel), times Asia/Shanghai.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import Connection, Engine

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db import exports as jobs
from publicpay.adapters.db.engine import Engines
from publicpay.adapters.db.exports import ExportJob, ExportStatus
from publicpay.adapters.db.queries import lists
from publicpay.adapters.db.queries.lists import Hasher, Kind, ListQuery, ListSpec
from publicpay.adapters.db.sql import Sql
from publicpay.adapters.db.users import UsersRepository
from publicpay.adapters.spreadsheets import FORMULA_STARTS, append_row, csv_value
from publicpay.domain.access import Actor, actor_of
from publicpay.domain.money import Money
from publicpay.domain.time import local_text

log = logging.getLogger("publicpay.exports")
CHUNK_ROWS = 2000  # rows per streamed CSV chunk
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"

    @property
    def media_type(self) -> str:
        return CSV if self is Format.CSV else XLSX


def money_text(fen: Any) -> object:
    """'123.45' (as `Money.to_yuan`, without building a `Money` per cell)."""
    if fen is None:
        return ""
    fen = int(fen)
    whole, frac = divmod(-fen if fen < 0 else fen, 100)
    return f"-{whole}.{frac:02d}" if fen < 0 else f"{whole}.{frac:02d}"


def money_number(fen: Any) -> object:
    return None if fen is None else Decimal(Money(int(fen)).to_yuan())


def time_text(moment: Any) -> object:
    return "" if moment is None else local_text(moment) if isinstance(moment, datetime) else moment


def csv_chunks(
    headers: Sequence[str], cells: Sequence[Callable[[Any], object]], rows: Iterable[Any]
) -> Iterator[bytes]:
    """The CSV file (UTF-8 with a byte-order mark, CRLF) in chunks of `CHUNK_ROWS` rows.

    Rows are plain tuples; only the columns whose cell converts anything are touched (`plain`
    ones are left as they are: csv writes None as an empty field), then formula-looking text is
    escaped — one list per row, no object per cell."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_value(h) for h in headers])
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    out.seek(0)
    out.truncate()
    line = _csv_line(cells)
    source = iter(rows)
    while batch := list(itertools.islice(source, CHUNK_ROWS)):
        writer.writerows(map(line, batch))
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()


def _csv_line(cells: Sequence[Callable[[Any], object]]) -> Callable[[Sequence[Any]], list[Any]]:
    converted = tuple((i, cell) for i, cell in enumerate(cells) if cell not in _AS_IS)

    def line(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i, cell in converted:
            values[i] = cell(values[i])
        return ["'" + v if v.__class__ is str and v[:1] in _FORMULA_FIRST else v for v in values]

    return line


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def write_xlsx(
    target: IO[bytes],
    title: str,
    headers: Sequence[str],
    cells: Sequence[Callable[[Any], object]],
    rows: Iterable[Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the workbook into `target`; returns the number of data rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    append_row(sheet, headers)
    written = 0
    for row in rows:
        append_row(sheet, [cell(value) for cell, value in zip(cells, row, strict=True)])
        written += 1
        if progress is not None and written % CHUNK_ROWS == 0:
            progress(written)
    book.save(target)
    return written


def xlsx_chunks(
    title: str,
    headers: Sequence[str],
    cells: Sequence[Callable[[Any], object]],
    rows: Iterable[Any],
) -> Iterator[bytes]:
    """The workbook, built in a temporary file (flat memory), then read back in chunks."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(spool, title, headers, cells, rows)
        spool.seek(0)
        while chunk := spool.read(1 << 16):
            yield chunk


# --- what a list export writes -----------------------------------------------------------------


def plain(value: Any) -> object:
    return "" if value is None else value


_AS_IS = frozenset({plain})  # cells csv writes as they are


def _labelled(labels: Any) -> Callable[[Any], object]:
    """A code as its Chinese label (by its stored text), the code itself when unknown."""
    by_text = {str(code): label for code, label in labels.items()}

    def cell(value: Any) -> object:
        return "" if value is None else by_text.get(value, value)

    return cell


def list_cells(spec: ListSpec, fmt: Format) -> list[Callable[[Any], object]]:
    """How each column of a list becomes a cell: amounts in yuan, times in Asia/Shanghai, codes
    by their Chinese labels."""
    out: list[Callable[[Any], object]] = []
    for f in spec.fields:
        if f.kind is Kind.MONEY:
            out.append(money_number if fmt is Format.XLSX else money_text)
        elif f.kind is Kind.TIME:
            out.append(plain)  # the list's stream formats times (Asia/Shanghai) itself
        elif f.kind is Kind.LABEL and f.labels is not None:
            out.append(_labelled(f.labels))
        elif f.kind is Kind.LABEL:
            out.append(f.text)
        else:
            out.append(plain)
    return out


@dataclass(frozen=True, slots=True)
class Export:
    """Everything a download needs: its title, header, cells, and its rows read from a
    connection."""

    title: str
    headers: list[str]
    cells: list[Callable[[Any], object]]
    rows: Callable[[Connection], Iterator[Any]]
    # the CSV file's lines as the database writes them (the lists): used instead of rows + cells
    csv_body: Callable[[Connection], Iterator[bytes]] | None = None


def list_export(
    spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher, fmt: Format
) -> Export:
    def rows(conn: Connection) -> Iterator[Any]:
        return lists.stream(conn, spec, actor, query, hasher, times_as_text=True)

    def body(conn: Connection) -> Iterator[bytes]:
        return lists.csv_body(conn, spec, actor, query, hasher)

    headers = [f.label for f in spec.fields]
    return Export(spec.title, headers, list_cells(spec, fmt), rows, csv_body=body)


def file_chunks(export: Export, fmt: Format, conn: Connection) -> Iterator[bytes]:
    if fmt is Format.CSV and export.csv_body is not None:
        return _with_header(export.headers, export.csv_body(conn))
    if fmt is Format.CSV:
        return csv_chunks(export.headers, export.cells, export.rows(conn))
    return xlsx_chunks(export.title, export.headers, export.cells, export.rows(conn))


def _with_header(headers: Sequence[str], body: Iterator[bytes]) -> Iterator[bytes]:
    """A byte-order mark (Excel then reads the Chinese) and the header line, then the body."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerow([csv_value(h) for h in headers])
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    yield from body


# --- background jobs ---------------------------------------------------------------------------

FILE_CHUNK = 1 << 20  # bytes per stored chunk of a finished file
PROGRESS_EVERY = 20_000  # rows between two progress updates of an Excel job


def run_job(
    engines: Engines, job: ExportJob, export: Export, *, now: Callable[[], datetime]
) -> None:
    """Write the job's file into the database chunk by chunk, updating its progress."""
    try:
        with engines.read.connect() as conn:
            rows = _Counted(export.rows(conn))
            if job.format == Format.CSV.value:
                _store_csv(engines.write, job.id, export, rows, conn)
            else:
                _store_xlsx(engines.write, job.id, export, rows)
    except Exception as exc:  # the job fails visibly; the worker goes on with the next
        log.exception("export job %s failed", job.id)
        jobs.finish(engines.write, job.id, ExportStatus.FAILED, now(), type(exc).__name__)
        return
    jobs.finish(engines.write, job.id, ExportStatus.DONE, now())


class _Counted:
    """The rows, counting how many were read (the job's progress)."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self.rows:
            self.n += 1
            yield row


def _store_csv(
    engine: Engine, job_id: int, export: Export, rows: _Counted, conn: Connection
) -> None:
    seq = 0
    buffer = bytearray()
    lines = 0  # the database's CSV: its lines are counted for the progress
    if export.csv_body is not None:
        chunks = _with_header(export.headers, export.csv_body(conn))
    else:
        chunks = csv_chunks(export.headers, export.cells, rows)
    for chunk in chunks:
        buffer += chunk
        lines += chunk.count(b"\n")
        if len(buffer) >= FILE_CHUNK:
            jobs.store_chunk(engine, job_id, seq, bytes(buffer), rows.n or max(0, lines - 1))
            seq += 1
            buffer.clear()
    jobs.store_chunk(engine, job_id, seq, bytes(buffer), rows.n or max(0, lines - 1))


def _store_xlsx(engine: Engine, job_id: int, export: Export, rows: _Counted) -> None:
    def progress(done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            jobs.set_progress(engine, job_id, done)

    with tempfile.TemporaryFile() as spool:
        write_xlsx(spool, export.title, export.headers, export.cells, rows, progress=progress)
        spool.seek(0)
        seq = 0
        while chunk := spool.read(FILE_CHUNK):
            jobs.store_chunk(engine, job_id, seq, chunk, rows.n)
            seq += 1


def job_export(conn: Connection, box: SecretBox, job: ExportJob, fmt: Format) -> Export:
    """What a job exports, for its user's scope as it is now (a user since deactivated gets
    nothing: the job fails)."""
    user = UsersRepository(Sql(conn)).by_id(job.user_id)
    if user is None or not user.active:
        raise LookupError("the export's user is gone")
    params = json.loads(box.open_text(job.params_enc, b"export"))
    area, _, name = job.kind.partition(":")
    builder = EXPORTERS[area]
    return builder(name, actor_of(user), params, box.lookup_hash, fmt)


def seal_params(box: SecretBox, params: dict[str, str]) -> bytes:
    return box.seal_text(json.dumps(params, ensure_ascii=False), b"export")


def _list_job(
    name: str, actor: Actor, params: dict[str, str], hasher: Hasher, fmt: Format
) -> Export:
    spec = lists.LISTS[name]
    return list_export(spec, actor, lists.parse_query(spec, params), hasher, fmt)


ExportBuilder = Callable[[str, Actor, dict[str, str], Hasher, Format], Export]
# What a background job of each kind ("<area>:<name>") exports; statistics add theirs.
EXPORTERS: dict[str, ExportBuilder] = {"list": _list_job}


def run_due_exports(engines: Engines, box: SecretBox, *, now: Callable[[], datetime]) -> int:
    """Run the oldest pending export job, if any (one per call: a big one takes a while)."""
    job = jobs.claim_next(engines.write, now())
    if job is None:
        return 0
    try:
        with engines.read.connect() as conn:
            export = job_export(conn, box, job, Format(job.format))
    except Exception as exc:
        log.info("export job %s cannot run: %s", job.id, exc)
        jobs.finish(engines.write, job.id, ExportStatus.FAILED, now(), type(exc).__name__)
        return 1
    run_job(engines, job, export, now=now)
    return 1
