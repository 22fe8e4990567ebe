"""The reconciliation engine the services use: the strict parsers and the Polars matching,
fed with what the platform knows of the channel's days (`ReconciliationRepo`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl

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
from publicpay.domain.time import SHANGHAI, utc
from publicpay.services.reconciliation.ports import Parsed, ReconciliationRepo

WINDOW_DAYS = 3  # orders created this many days before the business day are looked at
CUTOFF = time(23, 50)  # paid after this (local) may be booked by the channel the next day


def _local(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment).astimezone(SHANGHAI)


def _orders(rows: list[Any]) -> pl.DataFrame:
    records = []
    for r in rows:
        paid = _local(r.paid_at)
        records.append(
            (
                int(r.id),
                r.order_no,
                r.channel_trade_no,
                int(r.amount_fen),
                r.status,
                paid.date().isoformat() if paid else None,
                bool(paid and paid.time() >= CUTOFF),
                bool(r.paid_order_id is not None and r.paid_order_id != r.id),
                bool(r.elsewhere),
                r.cart_no,
            )
        )
    return pl.DataFrame(records, schema=ORDER_WITH_CART_SCHEMA, orient="row")


def _refunds(rows: list[Any]) -> pl.DataFrame:
    records = []
    for r in rows:
        done = _local(r.completed_at)
        records.append(
            (
                int(r.id),
                r.refund_no,
                int(r.amount_fen),
                r.status,
                done.date().isoformat() if done else None,
                bool(r.elsewhere),
            )
        )
    return pl.DataFrame(records, schema=REFUND_SCHEMA, orient="row")


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
            return _match_bank(repo, parsed, deposits)
        day = parsed.business_day
        start = datetime.combine(day - timedelta(days=WINDOW_DAYS), time(), SHANGHAI)
        until = datetime.combine(day + timedelta(days=2), time(), SHANGHAI)
        channel = parsed.source.value
        order_rows = repo.platform_orders(channel, start, until, statement_id)
        refund_rows = repo.platform_refunds(channel, start, until, statement_id)
        key = "trade_no" if parsed.source is Source.COUNTER else "order_no"
        result = match(
            parsed.lines, _orders(order_rows), _refunds(refund_rows), day=day.isoformat(), key=key
        )
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
    repo: ReconciliationRepo, parsed: ParsedStatement, deposits: Sequence[Deposit]
) -> MatchOutcome:
    """Third way: the collection account's credits are the channels' net settlements of
    reconciled days (gross − fees) and the cashier shifts' cash deposits (by the slip's
    number); its debits are clearing transfers; another credit is 不明款. A deposit no credit
    shows is short (短款) — held first when it was prepared that day (the bank may book it the
    next day)."""
    by_no = {d.deposit_no: d for d in deposits}
    lines = []
    for row in parsed.lines.to_dicts():
        reference = row["order_no"] or ""
        cls = _bank_class(repo, row["kind"], reference, row["amount_fen"], row["trade_no"], by_no)
        lines.append(LineResult(**{**row, "match_class": cls, "order_id": None, "refund_id": None}))
    named = {line.order_no for line in lines if line.kind == LineKind.CREDIT.value}
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
        if d.credit is None and d.deposit_no not in named and d.business_date <= day
    )
    counts: dict[str, int] = {}
    for cls in [line.match_class for line in lines] + [item.match_class for item in short]:
        counts[cls.value] = counts.get(cls.value, 0) + 1
    return MatchOutcome(tuple(lines), short, counts, {})
