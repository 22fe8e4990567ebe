"""Repository of reconciliation: statements and their lines, business days, exceptions.

`add_statement` runs at once (its id is needed); `add_lines`, `supersede`, `classify_lines`,
`save_day`, `add_exception` and `save_exception` are queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, cast, delete, func, select, update

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.carts import carts
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.reconciliation.tables import (
    clearing_windows,
    recon_days,
    recon_exceptions,
    statement_lines,
    statements,
)
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.domain.reconciliation import (
    Action,
    DayRecord,
    DayStatus,
    ExceptionStatus,
    LineResolution,
    MatchClass,
    ReconException,
    Source,
    StatementRecord,
)
from publicpay.domain.time import utc

_BY_DIGEST = select(statements.c.id).where(
    statements.c.source == bindparam("source"),
    statements.c.business_day == bindparam("day"),
    statements.c.digest == bindparam("digest"),
)
_ACTIVE = select(statements).where(
    statements.c.source == bindparam("source"),
    statements.c.business_day == bindparam("day"),
    statements.c.status == "active",
)
_SUPERSEDE = (
    update(statements)
    .where(statements.c.id == bindparam("b_id"))
    .values(status="superseded", superseded_by=bindparam("by"))
)
_LINE_COUNT = select(statement_lines.c.id).where(
    statement_lines.c.statement_id == bindparam("statement_id")
)
_CLASSIFY = (
    update(statement_lines)
    .where(
        statement_lines.c.statement_id == bindparam("b_statement_id"),
        statement_lines.c.line_no == bindparam("b_line_no"),
    )
    .values(
        match_class=bindparam("match_class"),
        order_id=bindparam("order_id"),
        refund_id=bindparam("refund_id"),
    )
)
_LINE_MATCHED = (
    update(statement_lines)
    .where(statement_lines.c.id == bindparam("b_id"))
    .values(match_class=MatchClass.MATCHED.value)
)
_LINE_RESOLVED = (
    update(statement_lines)
    .where(statement_lines.c.id == bindparam("b_id"))
    .values(resolution=bindparam("resolution"))
)
_LINES = (
    select(statement_lines)
    .where(statement_lines.c.statement_id == bindparam("statement_id"))
    .order_by(statement_lines.c.line_no)
)
_DAY = select(recon_days).where(
    recon_days.c.source == bindparam("source"), recon_days.c.business_day == bindparam("day")
)
_DAY_DELETE = delete(recon_days).where(
    recon_days.c.source == bindparam("source"), recon_days.c.business_day == bindparam("day")
)
_EXCEPTIONS_OF_DAY = (
    select(recon_exceptions)
    .where(
        recon_exceptions.c.source == bindparam("source"),
        recon_exceptions.c.business_day == bindparam("day"),
    )
    .order_by(recon_exceptions.c.id)
)
_HOLDING = (
    select(recon_exceptions)
    .where(
        recon_exceptions.c.source == bindparam("source"),
        recon_exceptions.c.status == ExceptionStatus.HOLDING.value,
        recon_exceptions.c.business_day < bindparam("day"),
    )
    .order_by(recon_exceptions.c.id)
)
_EXCEPTION = select(recon_exceptions).where(recon_exceptions.c.id == bindparam("id"))
_EXCEPTION_LOCKED = _EXCEPTION.with_for_update()
_SAVE_EXCEPTION = (
    update(recon_exceptions)
    .where(recon_exceptions.c.id == bindparam("b_id"))
    .values(
        match_class=bindparam("match_class"),
        status=bindparam("status"),
        assignee=bindparam("assignee"),
        action=bindparam("action"),
        reason=bindparam("reason"),
        resolved_by=bindparam("resolved_by"),
        resolved_at=bindparam("resolved_at"),
        reviewed_by=bindparam("reviewed_by"),
        reviewed_at=bindparam("reviewed_at"),
        detail=bindparam("detail"),
        line_id=bindparam("line_id"),
    )
)
_OPEN_COUNT = select(recon_exceptions.c.id).where(
    and_(
        recon_exceptions.c.source == bindparam("source"),
        recon_exceptions.c.business_day == bindparam("day"),
        recon_exceptions.c.status.in_([s.value for s in (ExceptionStatus.OPEN,)]),
    )
)


# -- what the platform knows of a channel's business day (read by the matching engine) --------

_LINE_OF_OTHER_STATEMENT = (
    select(statement_lines.c.id)
    .join(statements, statements.c.id == statement_lines.c.statement_id)
    .where(statements.c.status == "active", statements.c.id != bindparam("statement_id"))
)


def _platform_orders(*, copied: bool = False) -> Any:
    """The channel's orders created in [since, until) (`copied`: `paid_at` as microseconds
    since the epoch, for COPY's text)."""
    elsewhere = (
        _LINE_OF_OTHER_STATEMENT.where(statement_lines.c.order_id == payment_orders.c.id)
        .exists()
        .label("elsewhere")
    )
    paid_us = cast(
        func.round(func.extract("epoch", payment_orders.c.paid_at) * 1_000_000), BigInteger
    )
    return (
        select(
            payment_orders.c.id,
            payment_orders.c.order_no,
            payment_orders.c.channel_trade_no,
            payment_orders.c.amount_fen,
            payment_orders.c.status,
            paid_us.label("paid_us") if copied else payment_orders.c.paid_at,
            payables.c.paid_order_id,
            elsewhere,
            carts.c.cart_no,
        )
        .join(payables, payables.c.id == payment_orders.c.payable_id)
        .outerjoin(carts, carts.c.id == payment_orders.c.cart_id)
        .where(
            payment_orders.c.channel == bindparam("channel"),
            payment_orders.c.created_at >= bindparam("since"),
            payment_orders.c.created_at < bindparam("until"),
        )
    )


# a refund named by a line of another active statement
_REFUND_ELSEWHERE = (
    _LINE_OF_OTHER_STATEMENT.where(statement_lines.c.refund_id == refunds.c.id)
    .exists()
    .label("elsewhere")
)


def _platform_refunds() -> Any:
    return select(
        refunds.c.id,
        refunds.c.refund_no,
        refunds.c.order_id,
        refunds.c.amount_fen,
        refunds.c.status,
        refunds.c.kind,
        refunds.c.completed_at,
        _REFUND_ELSEWHERE,
    ).where(
        refunds.c.channel == bindparam("channel"),
        refunds.c.created_at >= bindparam("since"),
        refunds.c.created_at < bindparam("until"),
        refunds.c.payee_name.is_(None),  # paid by bank transfer: on the collection account
    )


def _transfer_refunds() -> Any:
    """Refunds paid by bank transfer (counter and cash payments): the collection account's
    statement shows each as a debit `REFUND:<refund no>`."""
    return select(
        refunds.c.id,
        refunds.c.refund_no,
        refunds.c.channel,
        refunds.c.payable_id,
        refunds.c.amount_fen,
        refunds.c.status,
        refunds.c.completed_at,
        _REFUND_ELSEWHERE,
    ).where(refunds.c.payee_name.is_not(None))


_PLATFORM_ORDERS = _platform_orders()
_PLATFORM_ORDERS_COPY = _platform_orders(copied=True)
_RETAKE = (
    update(recon_days)
    .where(
        recon_days.c.source == bindparam("source"),
        recon_days.c.business_day == bindparam("day"),
        recon_days.c.status == DayStatus.MISSING.value,
        recon_days.c.run_at < bindparam("before"),
    )
    .values(run_at=bindparam("now"))
)
_WINDOW_TOTAL = select(clearing_windows.c.total_fen).where(clearing_windows.c.id == bindparam("id"))
_PLATFORM_REFUNDS = _platform_refunds()
_TRANSFER_REFUNDS_NAMED = _transfer_refunds().where(
    refunds.c.refund_no.in_(bindparam("nos", expanding=True))
)
_TRANSFER_REFUNDS_DONE = _transfer_refunds().where(
    refunds.c.status == "succeeded",
    refunds.c.completed_at >= bindparam("since"),
    refunds.c.completed_at < bindparam("until"),
)


class ReconciliationRepository:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    # -- statements ---------------------------------------------------------------------------

    def statement_by_digest(self, source: Source, day: date, digest: str) -> int | None:
        found = self._sql.scalar(_BY_DIGEST, {"source": source.value, "day": day, "digest": digest})
        return None if found is None else int(found)

    def active_statement(self, source: Source, day: date) -> StatementRecord | None:
        row = self._sql.one(_ACTIVE, {"source": source.value, "day": day})
        return None if row is None else _statement(row)

    def add_statement(self, record: StatementRecord, content: bytes) -> int:
        row: dict[str, Any] = {
            "source": record.source.value,
            "business_day": record.business_day,
            "merchant": record.merchant,
            "digest": record.digest,
            "status": "active",
            "superseded_by": None,
            "line_count": record.line_count,
            "totals": dict(record.totals),
            "content": content,
            "imported_at": record.imported_at,
            "imported_by": record.imported_by,
        }
        record.id = int(self._sql.insert(statements, row).id)
        return record.id

    def supersede(self, old_id: int, new_id: int) -> None:
        self._sql.queue(Change(_SUPERSEDE, {"b_id": old_id, "by": new_id}, key=("st", old_id)))

    def has_lines(self, statement_id: int) -> bool:
        return self._sql.one(_LINE_COUNT, {"statement_id": statement_id}) is not None

    def add_lines(self, statement_id: int, lines: Iterable[Mapping[str, Any]]) -> None:
        rows = tuple({**line, "statement_id": statement_id} for line in lines)
        if rows:
            self._sql.queue(Insert(statement_lines, rows))

    def classify_lines(self, statement_id: int, lines: Iterable[Mapping[str, Any]]) -> None:
        for line in lines:
            params = {
                "b_statement_id": statement_id,
                "b_line_no": line["line_no"],
                "match_class": line["match_class"],
                "order_id": line["order_id"],
                "refund_id": line["refund_id"],
            }
            self._sql.queue(Change(_CLASSIFY, params, key=("sl", statement_id, line["line_no"])))

    def mark_line_matched(self, line_id: int) -> None:
        """A line whose payment was recovered (补单) and reviewed: it matches its order now."""
        self._sql.queue(Change(_LINE_MATCHED, {"b_id": line_id}, key=("sl-id", line_id)))

    def mark_line(self, line_id: int, resolution: LineResolution) -> None:
        """How a line that did not match was closed (kept when the day is run again)."""
        params = {"b_id": line_id, "resolution": resolution.value}
        self._sql.queue(Change(_LINE_RESOLVED, params, key=("sl-id", line_id)))

    def line_ids(self, statement_id: int) -> dict[int, int]:
        """line_no → id of a statement's lines."""
        rows = self._sql.all(_LINES, {"statement_id": statement_id})
        return {int(r.line_no): int(r.id) for r in rows}

    # -- business days ------------------------------------------------------------------------

    def day(self, source: Source, day: date) -> DayRecord | None:
        row = self._sql.one(_DAY, {"source": source.value, "day": day})
        return None if row is None else _day(row)

    def save_day(self, record: DayRecord) -> None:
        """Replaces the source's record of the day: the delete and the insert share the row's key,
        so they go out as two statements (sibling CTEs of one statement would race)."""
        key = {"source": record.source.value, "day": record.business_day}
        self._sql.queue(Change(_DAY_DELETE, key, key=("recon_days", *key.values())))
        row: dict[str, Any] = {
            "source": record.source.value,
            "business_day": record.business_day,
            "statement_id": record.statement_id,
            "status": record.status,
            "lines": record.lines,
            "matched": record.matched,
            "counts": dict(record.counts),
            "gross_fen": record.gross_fen,
            "fee_fen": record.fee_fen,
            "run_at": record.run_at,
            "run_by": record.run_by,
        }
        self._sql.queue(Insert(recon_days, (row,), key=("recon_days", *key.values())))

    # -- exceptions ---------------------------------------------------------------------------

    def exceptions_of_day(self, source: Source, day: date) -> list[ReconException]:
        rows = self._sql.all(_EXCEPTIONS_OF_DAY, {"source": source.value, "day": day})
        return [_exception(r) for r in rows]

    def holding_before(self, source: Source, day: date) -> list[ReconException]:
        return [
            _exception(r) for r in self._sql.all(_HOLDING, {"source": source.value, "day": day})
        ]

    def exception(self, exception_id: int, *, lock: bool = False) -> ReconException | None:
        row = self._sql.one(_EXCEPTION_LOCKED if lock else _EXCEPTION, {"id": exception_id})
        return None if row is None else _exception(row)

    def add_exception(self, item: ReconException) -> None:
        row: dict[str, Any] = {
            "source": item.source.value,
            "business_day": item.business_day,
            "match_class": item.match_class.value,
            "key": item.key,
            "order_no": item.order_no,
            "line_id": item.line_id,
            "amount_fen": item.amount_fen,
            "status": item.status.value,
            "detail": item.detail,
            "assignee": item.assignee,
            "action": item.action.value if item.action else None,
            "reason": item.reason,
            "resolved_by": item.resolved_by,
            "resolved_at": item.resolved_at,
            "reviewed_by": item.reviewed_by,
            "reviewed_at": item.reviewed_at,
            "created_at": item.created_at,
        }
        self._sql.queue(Insert(recon_exceptions, (row,), ignore_conflict=True))

    def save_exception(self, item: ReconException) -> None:
        params = {
            "b_id": item.id,
            "match_class": item.match_class.value,
            "status": item.status.value,
            "assignee": item.assignee,
            "action": item.action.value if item.action else None,
            "reason": item.reason,
            "resolved_by": item.resolved_by,
            "resolved_at": item.resolved_at,
            "reviewed_by": item.reviewed_by,
            "reviewed_at": item.reviewed_at,
            "detail": item.detail,
            "line_id": item.line_id,
        }
        self._sql.queue(Change(_SAVE_EXCEPTION, params, key=("re", item.id)))

    # -- what the platform knows of a channel's days (read by the matching engine) --------

    def platform_orders(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]:
        params = {"channel": channel, "since": since, "until": until, "statement_id": statement_id}
        return self._sql.all(_PLATFORM_ORDERS, params)

    def platform_orders_csv(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> bytes | None:
        """`platform_orders` as CSV written by PostgreSQL (`COPY`), `paid_at` as microseconds
        since the epoch; None on another database."""
        params = {"channel": channel, "since": since, "until": until, "statement_id": statement_id}
        return self._sql.copy_csv(_PLATFORM_ORDERS_COPY, params)

    def platform_refunds(
        self, channel: str, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]:
        params = {"channel": channel, "since": since, "until": until, "statement_id": statement_id}
        return self._sql.all(_PLATFORM_REFUNDS, params)

    def transfer_refunds(self, refund_nos: list[str], statement_id: int) -> list[Any]:
        """The bank-transfer refunds of these numbers (a collection-account statement's
        `REFUND:` debits), each saying whether another active statement already names it."""
        if not refund_nos:
            return []
        params = {"nos": sorted(set(refund_nos)), "statement_id": statement_id}
        return self._sql.all(_TRANSFER_REFUNDS_NAMED, params)

    def transfer_refunds_done(
        self, since: datetime, until: datetime, statement_id: int
    ) -> list[Any]:
        """The bank-transfer refunds recorded as paid in [since, until)."""
        params = {"since": since, "until": until, "statement_id": statement_id}
        return self._sql.all(_TRANSFER_REFUNDS_DONE, params)

    def claim_day(self, source: Source, day: date, now: datetime, retry_after: timedelta) -> bool:
        """Once per cluster: True for the one worker that may run this source's day now (its
        first run, or a retry of a day still without statement once `retry_after` passed). The
        day's row is the lease: inserted once, or taken over by one conditional update."""
        row: dict[str, Any] = {
            "source": source.value,
            "business_day": day,
            "statement_id": None,
            "status": DayStatus.MISSING.value,
            "lines": 0,
            "matched": 0,
            "counts": {},
            "gross_fen": 0,
            "fee_fen": 0,
            "run_at": now,
            "run_by": "worker",
        }
        if self._sql.insert(recon_days, row, ignore_conflict=True) is not None:
            return True
        params = {"source": source.value, "day": day, "now": now, "before": now - retry_after}
        return self._sql.run(_RETAKE, params) == 1

    def window_total(self, window_id: int) -> int | None:
        found = self._sql.scalar(_WINDOW_TOTAL, {"id": window_id})
        return None if found is None else int(found)

    def open_exceptions(self, source: Source, day: date) -> int:
        return len(self._sql.all(_OPEN_COUNT, {"source": source.value, "day": day}))


def _statement(row: Any) -> StatementRecord:
    return StatementRecord(
        id=int(row.id),
        source=Source(row.source),
        business_day=row.business_day,
        merchant=row.merchant,
        digest=row.digest,
        line_count=int(row.line_count),
        totals=dict(row.totals),
        imported_at=utc(row.imported_at),
        imported_by=row.imported_by,
        content=bytes(row.content),
    )


def _day(row: Any) -> DayRecord:
    return DayRecord(
        source=Source(row.source),
        business_day=row.business_day,
        statement_id=row.statement_id,
        status=row.status,
        lines=int(row.lines),
        matched=int(row.matched),
        counts=dict(row.counts),
        gross_fen=int(row.gross_fen),
        fee_fen=int(row.fee_fen),
        run_at=utc(row.run_at),
        run_by=row.run_by,
    )


def _exception(row: Any) -> ReconException:
    return ReconException(
        id=int(row.id),
        source=Source(row.source),
        business_day=row.business_day,
        match_class=MatchClass(row.match_class),
        key=row.key,
        amount_fen=int(row.amount_fen),
        status=ExceptionStatus(row.status),
        created_at=utc(row.created_at),
        detail=dict(row.detail or {}),
        order_no=row.order_no,
        line_id=row.line_id,
        assignee=row.assignee,
        action=Action(row.action) if row.action else None,
        reason=row.reason,
        resolved_by=row.resolved_by,
        resolved_at=utc(row.resolved_at) if row.resolved_at else None,
        reviewed_by=row.reviewed_by,
        reviewed_at=utc(row.reviewed_at) if row.reviewed_at else None,
    )
