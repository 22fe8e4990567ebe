"""Ports of reconciliation: its repository, the statement parser and matching engine, where
statements come from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from publicpay.domain.catalogue import FeeItem
from publicpay.domain.clearing import ClearingLine, DaySplit, Window
from publicpay.domain.payables import PayableLine
from publicpay.domain.reconciliation import (
    DayRecord,
    LineResolution,
    MatchOutcome,
    ReconException,
    Source,
    StatementRecord,
    StatementTotals,
)
from publicpay.domain.shifts import Deposit


class ReconciliationRepo(Protocol):
    def statement_by_digest(self, source: Source, day: date, digest: str) -> int | None: ...

    def active_statement(self, source: Source, day: date) -> StatementRecord | None: ...

    def add_statement(self, record: StatementRecord, content: bytes) -> int: ...

    def supersede(self, old_id: int, new_id: int) -> None: ...

    def has_lines(self, statement_id: int) -> bool: ...

    def add_lines(self, statement_id: int, lines: Iterable[Mapping[str, Any]]) -> None: ...

    def classify_lines(self, statement_id: int, lines: Iterable[Mapping[str, Any]]) -> None: ...

    def line_ids(self, statement_id: int) -> dict[int, int]: ...

    def mark_line_matched(self, line_id: int) -> None: ...

    def mark_line(self, line_id: int, resolution: LineResolution) -> None: ...

    def day(self, source: Source, day: date) -> DayRecord | None: ...

    def save_day(self, record: DayRecord) -> None: ...

    def exceptions_of_day(self, source: Source, day: date) -> list[ReconException]: ...

    def holding_before(self, source: Source, day: date) -> list[ReconException]: ...

    def exception(self, exception_id: int, *, lock: bool = False) -> ReconException | None: ...

    def add_exception(self, item: ReconException) -> None: ...

    def save_exception(self, item: ReconException) -> None: ...

    def window_total(self, window_id: int) -> int | None: ...

    def claim_day(
        self, source: Source, day: date, now: datetime, retry_after: timedelta
    ) -> bool: ...

    def platform_orders(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]: ...

    def platform_orders_csv(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> bytes | None:
        """`platform_orders` as CSV (`paid_at` in microseconds since the epoch) when the
        database writes it itself; None otherwise."""
        ...

    def platform_refunds(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]: ...

    def transfer_refunds(self, refund_nos: list[str], statement_id: int) -> list[Any]: ...

    def transfer_refunds_done(
        self, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]: ...


class ClearingRepo(Protocol):
    def window(self, day: date, account: str) -> Window | None: ...

    def window_by_id(self, window_id: int, *, lock: bool = False) -> Window | None: ...

    def window_by_voucher(self, voucher_no: str) -> Window | None: ...

    def add_window(
        self,
        window: Window,
        lines: Sequence[ClearingLine],
        netted: Sequence[Any] = (),
        *,
        taken: Sequence[int] = (),
        held: Sequence[ClearingLine] = (),
        reason: str = "",
    ) -> int:
        """With the transfer refunds it nets (`transfer_refunds_to_net` rows), each once, the
        earlier holds it takes back (`taken`, ids of `holds_to_take` rows: Conflict when another
        window took one meanwhile) and the refund parts it holds (`held`, with `reason`)."""
        ...

    def holds_to_take(self) -> list[Any]:
        """Refund parts earlier windows held that no window took back yet (hold order): id,
        payment_code, subject_code, level, destination, amount_fen, unit_name."""
        ...

    def holds(self, window_id: int) -> list[Any]:
        """The holds a window made or took back (window_id, taken_by, reason, …)."""
        ...

    def lines(self, window_id: int) -> list[ClearingLine]: ...

    def save_window(self, window: Window, *, voucher: str | None, receipt: str | None) -> None: ...

    def voucher(self, window_id: int) -> str | None: ...

    def paid_on(self, day: date) -> list[Any]: ...

    def refunded_on(self, day: date) -> list[Any]: ...

    def transfer_refunds_to_net(self) -> list[Any]:
        """Refunds paid by bank transfer, debit matched, no window netted yet (refund order)."""
        ...

    def netted(self, window_id: int) -> list[Any]: ...

    def payable_lines(self, ids: list[int]) -> dict[int, list[PayableLine]]: ...

    def claim_run(self, day: date, account: str, now: datetime, retry_after: timedelta) -> bool:
        """The clearing schedule's lease (once per cluster)."""
        ...

    def finish_run(self, day: date, account: str) -> None: ...

    def channels_paid(self, since: datetime, until: datetime) -> set[str]: ...


class ClearingSplitter(Protocol):
    """A day's clearing lines: the `paid` rows (id, payment_code, unit_name, paid_fen) split
    by budget subject, level and destination exactly to the fen (`domain.clearing
    .payment_parts`), then the `refunded` rows (… refund_kind, refunded_before, refund_fen)
    taken back as the ledger's refund journal took them (`catalogue.refund_slices`, cumulative
    over the payable's refunds the ledger booked before; a duplicate payment's refund left
    out)."""

    def split(
        self,
        paid: Sequence[Any],
        refunded: Sequence[Any],
        lines_of: Mapping[int, Sequence[PayableLine]],
        items: Mapping[str, FeeItem],
    ) -> DaySplit: ...


class Parsed(Protocol):
    """A statement that passed every check."""

    @property
    def source(self) -> Source: ...

    @property
    def business_day(self) -> date: ...

    @property
    def merchant(self) -> str: ...

    @property
    def digest(self) -> str: ...

    @property
    def totals(self) -> StatementTotals: ...

    @property
    def line_count(self) -> int: ...


class ReconEngine(Protocol):
    def parse(self, source: Source, content: bytes, *, day: date, merchant: str | None) -> Parsed:
        """The checked statement, or StatementRefused (line and reason)."""
        ...

    def match(
        self,
        repo: ReconciliationRepo,
        parsed: Parsed,
        *,
        statement_id: int,
        deposits: Sequence[Deposit] = (),
    ) -> MatchOutcome:
        """Classify the lines; a collection-account statement is also matched against the
        cashier shifts' cash `deposits` (slips carry the reference the bank books them by)."""
        ...


class StatementSources(Protocol):
    """Where each source's statement comes from (a channel's API, the bank)."""

    def merchant(self, source: Source) -> str | None:
        """Whom a statement of `source` must belong to (None: not known, not checked)."""
        ...

    def fetch(self, source: Source, day: date) -> bytes | None:
        """The day's file; None when this source is only imported (uploaded). Raises
        ChannelUnavailable when the source has not published it yet."""
        ...
