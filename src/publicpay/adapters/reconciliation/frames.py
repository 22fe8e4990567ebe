"""What every statement parser shares: the normalised lines frame, strict column checks that
name the first bad line, and amounts in yuan to integer fen without floats.

The normalised frame (`LINE_SCHEMA`) has one row per statement line:
line_no (the line in the file, 1-based), kind (`LineKind`), order_no (our order number, or the
bank reference), refund_no, trade_no (the channel's own number), amount_fen (> 0), fee_fen (what
the channel kept; negative when a refund gives a fee back), at (local time text).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from queue import Empty, Queue
from typing import TypeVar

import polars as pl

from publicpay.domain.reconciliation import Source, StatementRefused, StatementTotals

LINE_SCHEMA = pl.Schema(
    {
        "line_no": pl.Int64(),
        "kind": pl.String(),
        "order_no": pl.String(),
        "refund_no": pl.String(),
        "trade_no": pl.String(),
        "amount_fen": pl.Int64(),
        "fee_fen": pl.Int64(),
        "at": pl.String(),
    }
)
T = TypeVar("T")
Check = tuple[pl.Expr, str]  # (must hold on every row, the reason when it does not)
YUAN = r"^-?[0-9]+\.[0-9]{2}$"
FEN = r"^[0-9]+$"
LOCAL_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"


@dataclass(frozen=True)
class ParsedStatement:
    """A statement that passed every check: its identity, its own totals and its lines."""

    source: Source
    business_day: date
    merchant: str
    totals: StatementTotals
    lines: pl.DataFrame  # LINE_SCHEMA
    digest: str  # sha256 of the file as received

    @property
    def line_count(self) -> int:
        return self.lines.height


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=LINE_SCHEMA)


def read_rows(
    body: bytes, *, separator: str = ",", quote: str | None = '"', first_row: int = 0
) -> pl.DataFrame:
    """Every field as text (empty stays ""), with a `row` index counted from `first_row` (a
    table read in chunks); a malformed table is refused."""
    try:
        return pl.read_csv(
            body,
            has_header=True,
            separator=separator,
            quote_char=quote,
            infer_schema=False,
            empty_string_is_null=False,
            row_index_name="row",
            row_index_offset=first_row,
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StatementRefused(f"表格格式错误（{reason}）") from None


def read_ahead(items: Iterator[T]) -> Generator[T]:
    """`items`, produced on another thread one item ahead of the consumer (reading and
    decoding a file's next chunk while Polars, which lets go of the GIL, parses this one).
    An exception of the producer is raised to the consumer; closing the iterator stops the
    producer."""
    queue: Queue[tuple[T | None, BaseException | None, bool]] = Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                queue.put((item, None, False))
                if stop.is_set():
                    return
            queue.put((None, None, True))
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put((None, exc, True))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item, error, done = queue.get()
            if error is not None:
                raise error
            if done:
                return
            yield item  # type: ignore[misc]  # not None unless done
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to put its next item
            with suppress(Empty):
                queue.get(timeout=0.05)
        thread.join()


def first_bad(frame: pl.DataFrame, ok: pl.Expr) -> int | None:
    """The `row` index of the first row where `ok` is false (or null)."""
    bad = frame.filter(~ok.fill_null(value=False)).select("row").head(1)
    return None if bad.height == 0 else int(bad.item())


def require(frame: pl.DataFrame, ok: pl.Expr, reason: str, first_line: int) -> None:
    """Refuse the file at the first row where `ok` fails; `first_line` is the file line of row 0."""
    row = first_bad(frame, ok)
    if row is not None:
        raise StatementRefused(reason, line=first_line + row)


def fen(column: str) -> pl.Expr:
    """A checked yuan text column ('-12.30') as integer fen."""
    return pl.col(column).str.replace(".", "", literal=True).cast(pl.Int64)


def yuan_checks(columns: list[str]) -> list[Check]:
    """One check of every amount column at once (one regex over the joined columns); the slow
    path, on failure only, names the column."""
    one = YUAN[1:-1]
    joined = pl.concat_str([pl.col(c) for c in columns], separator="|")
    pattern = "^" + "\\|".join([one] * len(columns)) + "$"
    return [(joined.str.contains(pattern), "金额不是两位小数的格式")]


def require_yuan(frame: pl.DataFrame, columns: list[str], first_line: int) -> None:
    require_all(frame, yuan_checks(columns), first_line)


def require_all(frame: pl.DataFrame, checks: list[Check], first_line: int) -> None:
    """Every check in one parallel pass; on failure, the first bad line (and its reason)."""
    if not checks:
        return
    passed = frame.select(
        ok.fill_null(value=False).all().alias(str(i)) for i, (ok, _) in enumerate(checks)
    ).row(0)
    failures = []
    for (ok, reason), good in zip(checks, passed, strict=True):
        if not good:
            row = first_bad(frame, ok)
            if row is not None:
                failures.append((row, reason))
    if failures:
        row, reason = min(failures)
        raise StatementRefused(reason, line=first_line + row)


def yuan_to_fen(text: str, what: str, *, line: int | None = None) -> int:
    """One amount of a totals line."""
    import re

    if re.fullmatch(YUAN, text) is None:
        raise StatementRefused(f"{what}“{text}”不是两位小数的金额", line=line)
    return int(text.replace(".", ""))


def check_total(what: str, stated: int, counted: int, *, line: int | None = None) -> None:
    if stated != counted:
        raise StatementRefused(f"{what}：合计行为 {stated}，明细合计为 {counted}", line=line)


def check_merchant(found: str, expected: str | None) -> None:
    if expected and found != expected:
        raise StatementRefused(f"对账单属于商户 {found}，不是本平台的商户 {expected}")


def check_days(frame: pl.DataFrame, day: date, first_line: int) -> None:
    """Every line's local date must be the statement's business day."""
    require(
        frame,
        pl.col("at").str.contains(LOCAL_TIME),
        "时间格式应为 yyyy-MM-dd HH:mm:ss",
        first_line,
    )
    require(
        frame,
        pl.col("at").str.slice(0, 10) == day.isoformat(),
        f"交易日期不是账单日 {day.isoformat()}",
        first_line,
    )


def normalised(frame: pl.DataFrame, first_line: int, **columns: pl.Expr) -> pl.DataFrame:
    """The LINE_SCHEMA frame from a raw one (`columns` gives an expression per output column)."""
    exprs = [(pl.col("row") + first_line).alias("line_no")]
    exprs += [expr.alias(name) for name, expr in columns.items()]
    return frame.select(exprs).cast(LINE_SCHEMA).select(list(LINE_SCHEMA))
