"""The reconciliation engine the services use: the strict parsers and the Polars matching,
fed with what the platform knows of the channel's days (`ReconciliationRepo`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl

from publicpay.adapters.reconciliation.bank_refunds import (
    debit_class,
    missing_debits,
    refund_no_of,
)
from publicpay.adapters.reconciliation.frames import ParsedStatement
from publicpay.adapters.reconciliation.matching import (
    ORDER_WITH_CART_SCHEMA,
    REFUND_SCHEMA,
    match,
)
from publicpay.adapters.reconciliation.parsing import parse_statement
from publicpay.domain.reconciliation import (
    LineKind,
    LineResult,
    MatchClass,
    MatchOutcome,
    PlatformOnly,
    Source,
)
from publicpay.domain.shifts import Deposit
from publicpay.domain.time import SHANGHAI
from publicpay.services.reconciliation.ports import Parsed, ReconciliationRepo

WINDOW_DAYS = 3  # orders created this many days before the business day are looked at
CUTOFF = time(23, 50)  # paid after this (local) may be booked by the channel the next day


def _moments(values: Sequence[datetime | None]) -> pl.Series:
    """Moments as the driver returns them (aware, or naive UTC from SQLite) as local time:
    one float per row in Python, the rest columnar (a million rows in well under a second)."""
    seconds = [
        None if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp()
        for v in values
    ]
    micros = (pl.Series(seconds, dtype=pl.Float64) * 1_000_000).round().cast(pl.Int64)
    return _local(micros)


def _local(micros: pl.Series) -> pl.Series:
    """Microseconds since the epoch as local time."""
    return micros.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(SHANGHAI.key)


def _orders(rows: list[Any]) -> pl.DataFrame:
    """The platform's orders (`ReconciliationRepo.platform_orders`), columnar."""
    if not rows:
        return pl.DataFrame(schema=ORDER_WITH_CART_SCHEMA)
    column = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))  # by name
    return _order_frame(
        {
            "order_id": pl.Series(column["id"], dtype=pl.Int64),
            "order_no": pl.Series(column["order_no"], dtype=pl.String),
            "trade_no": pl.Series(column["channel_trade_no"], dtype=pl.String),
            "order_amount": pl.Series(column["amount_fen"], dtype=pl.Int64),
            "order_status": pl.Series(column["status"], dtype=pl.String),
            "paid_order_id": pl.Series(column["paid_order_id"], dtype=pl.Int64),
            "elsewhere": pl.Series(column["elsewhere"]).cast(pl.Boolean),
            "cart_no": pl.Series(column["cart_no"], dtype=pl.String),
        },
        _moments(column["paid_at"]),
    )


_COPIED = {
    "order_id": pl.Int64(),
    "order_no": pl.String(),
    "trade_no": pl.String(),
    "order_amount": pl.Int64(),
    "order_status": pl.String(),
    "paid_us": pl.Int64(),
    "paid_order_id": pl.Int64(),
    "elsewhere": pl.String(),  # t / f
    "cart_no": pl.String(),
}


def _orders_copied(data: bytes) -> pl.DataFrame:
    """The platform's orders from `ReconciliationRepo.platform_orders_csv` (PostgreSQL's
    COPY text: NULL is an unquoted empty field), columnar from the start."""
    if not data:
        return pl.DataFrame(schema=ORDER_WITH_CART_SCHEMA)
    read = pl.read_csv(data, has_header=False, schema=_COPIED)  # empty unquoted: null
    columns = {name: read.get_column(name) for name in _COPIED if name != "paid_us"}
    columns["elsewhere"] = columns["elsewhere"] == "t"
    return _order_frame(columns, _local(read.get_column("paid_us")))


def _order_frame(columns: dict[str, pl.Series], paid: pl.Series) -> pl.DataFrame:
    """ORDER_WITH_CART_SCHEMA from the orders' columns and their local payment moments."""
    frame = pl.DataFrame(
        {
            **columns,
            "paid_day": paid.dt.date().cast(pl.String),
            "paid_late": (paid.dt.time() >= CUTOFF).fill_null(value=False),
        }
    )
    second = pl.col("paid_order_id").is_not_null() & (pl.col("paid_order_id") != pl.col("order_id"))
    return frame.with_columns(second.alias("is_duplicate")).select(list(ORDER_WITH_CART_SCHEMA))


def _refunds(rows: list[Any]) -> pl.DataFrame:
    """The platform's refunds (`ReconciliationRepo.platform_refunds`) as REFUND_SCHEMA."""
    if not rows:
        return pl.DataFrame(schema=REFUND_SCHEMA)
    done = _moments([r.completed_at for r in rows])
    return pl.DataFrame(
        {
            "refund_id": pl.Series([int(r.id) for r in rows], dtype=pl.Int64),
            "refund_no": pl.Series([r.refund_no for r in rows], dtype=pl.String),
            "refund_amount": pl.Series([int(r.amount_fen) for r in rows], dtype=pl.Int64),
            "refund_status": pl.Series([r.status for r in rows], dtype=pl.String),
            "done_day": done.dt.date().cast(pl.String),
            "refund_elsewhere": pl.Series([bool(r.elsewhere) for r in rows]),
        }
    )


class PolarsEngine:
    def parse(self, source: Source, content: bytes, *, day: date, merchant: str | None) -> Parsed:
        return parse_statement(source, content, day=day, merchant=merchant)

    def match(
        self,
        repo: ReconciliationRepo,
        parsed: Parsed,
        *,
        statement_id: int,
        deposits: Sequence[Deposit] = (),
    ) -> MatchOutcome:
        assert isinstance(parsed, ParsedStatement)
        if parsed.source is Source.BANK:
            return _match_bank(repo, parsed, deposits, statement_id)
        day = parsed.business_day
        start = datetime.combine(day - timedelta(days=WINDOW_DAYS), time(), SHANGHAI)
        until = datetime.combine(day + timedelta(days=2), time(), SHANGHAI)
        channel = parsed.source.value
        # PostgreSQL writes the orders as CSV (COPY) that Polars reads: no row objects
        copied = repo.platform_orders_csv(channel, start, until, statement_id)
        if copied is None:
            orders = _orders(repo.platform_orders(channel, start, until, statement_id))
        else:
            orders = _orders_copied(copied)
        refund_rows = repo.platform_refunds(channel, start, until, statement_id)
        # the bank counter's lines name the bank serial, the acquirer's the RRN (参考号): both
        # kept as the order's channel trade number
        key = "trade_no" if parsed.source in (Source.COUNTER, Source.CARD) else "order_no"
        result = match(parsed.lines, orders, _refunds(refund_rows), day=day.isoformat(), key=key)
        lines = tuple(
            LineResult(**{**row, "match_class": MatchClass(row["match_class"])})
            for row in result.lines.to_dicts()
        )
        only = tuple(
            PlatformOnly(**{**row, "match_class": MatchClass(row["match_class"])})
            for row in result.platform_only.to_dicts()
        )
        duplicates = {int(r.order_id): r.refund_no for r in refund_rows if r.kind == "duplicate"}
        return MatchOutcome(lines, only, result.counts(), duplicates)


def _bank_class(
    repo: ReconciliationRepo,
    kind: str,
    reference: str,
    amount: int,
    serial: str,
    deposits: Mapping[str, Deposit],
) -> MatchClass:
    """A collection-account movement against what it should be (docs/bank-statement.md)."""
    parts = reference.split(":")
    if kind == "credit" and reference in deposits:
        return _deposit_class(deposits[reference], amount, serial)
    if kind == "credit" and len(parts) == 3 and parts[0] == "SETTLE":
        try:
            source, day = Source(parts[1]), date.fromisoformat(parts[2])
        except ValueError:
            return MatchClass.UNKNOWN_CREDIT
        record = repo.day(source, day)
        if record is None or record.statement_id is None:
            return MatchClass.STATUS_MISMATCH  # that channel's day is not reconciled yet
        expected = record.gross_fen - record.fee_fen
        return MatchClass.MATCHED if expected == amount else MatchClass.AMOUNT_MISMATCH
    if kind == "credit":
        return MatchClass.UNKNOWN_CREDIT
    if len(parts) >= 2 and parts[0] == "CLEARING" and parts[1].isdigit():
        total = repo.window_total(int(parts[1]))
        if total is None:
            return MatchClass.STATUS_MISMATCH
        return MatchClass.MATCHED if total == amount else MatchClass.AMOUNT_MISMATCH
    return MatchClass.STATUS_MISMATCH


def _deposit_class(deposit: Deposit, amount: int, serial: str) -> MatchClass:
    """A cashier shift's deposit slip credited: its amount, and not credited by another line."""
    if amount != deposit.amount_fen:
        return MatchClass.AMOUNT_MISMATCH
    if deposit.credit is not None and deposit.credit.statement_ref != serial:
        return MatchClass.DUPLICATE  # the same slip on a second credit
    return MatchClass.MATCHED


def _match_bank(
    repo: ReconciliationRepo,
    parsed: ParsedStatement,
    deposits: Sequence[Deposit],
    statement_id: int,
) -> MatchOutcome:
    """Third way: the collection account's credits are the channels' net settlements of
    reconciled days (gross − fees) and the cashier shifts' cash deposits (by the slip's
    number); its debits are clearing transfers and refunds paid by bank transfer
    (`bank_refunds`); another credit is 不明款. A deposit no credit shows is short (短款) —
    held first when it was prepared that day (the bank may book it the next day); so is a
    transfer refund no debit shows."""
    by_no = {d.deposit_no: d for d in deposits}
    rows = parsed.lines.to_dicts()
    named = [refund_no_of(row["kind"], row["order_no"] or "") for row in rows]
    known = {r.refund_no: r for r in repo.transfer_refunds([n for n in named if n], statement_id)}
    lines, debited = [], set()
    for row, refund_no in zip(rows, named, strict=True):
        reference = row["order_no"] or ""
        refund = known.get(refund_no) if refund_no else None
        if refund_no:
            cls = debit_class(refund, row["amount_fen"], repeated=refund_no in debited)
            debited.add(refund_no)
        else:
            cls = _bank_class(
                repo, row["kind"], reference, row["amount_fen"], row["trade_no"], by_no
            )
        found = {"refund_no": refund_no, "refund_id": None if refund is None else int(refund.id)}
        lines.append(LineResult(**{**row, **found, "match_class": cls, "order_id": None}))
    credited = {line.order_no for line in lines if line.kind == LineKind.CREDIT.value}
    day = parsed.business_day
    short = tuple(
        PlatformOnly(
            d.deposit_no,
            None,
            None,
            None,
            d.amount_fen,
            MatchClass.HOLDING if d.business_date >= day else MatchClass.PLATFORM_ONLY,
        )
        for d in deposits
        if d.credit is None and d.deposit_no not in credited and d.business_date <= day
    )
    short += missing_debits(repo, day, statement_id, debited)
    counts: dict[str, int] = {}
    for cls in [line.match_class for line in lines] + [item.match_class for item in short]:
        counts[cls.value] = counts.get(cls.value, 0) + 1
    return MatchOutcome(tuple(lines), short, counts, {})
