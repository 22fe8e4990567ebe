"""Read side of reconciliation for the workbench: each source's days as boxes, one day's lines
(with the order and payable each line matched), exceptions with their age, the daily report.

Reconciliation is the finance bureau's own work: only finance roles have its permissions, and
the statements are the bureau's (one collection account), so no unit scope applies here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.reconciliation.tables import (
    recon_days,
    recon_exceptions,
    statement_lines,
    statements,
)
from publicpay.adapters.db.refunds import refunds
from publicpay.domain.reconciliation import (
    CLASS_LABELS,
    RESOLUTION_LABELS,
    STATUS_LABELS,
    UNRESOLVED,
    ExceptionStatus,
    LineResolution,
    MatchClass,
)

EXCEPTION_LIMIT = 500


@dataclass(frozen=True, slots=True)
class DayBox:
    source: str
    business_day: date
    status: str  # reconciled | exceptions | missing | none
    lines: int
    matched: int
    open: int
    settled: int = 0  # lines matched, or closed by a reviewed exception (as of now)


def day_boxes(conn: Connection, days: list[date]) -> dict[tuple[str, date], DayBox]:
    """Each source's days with what they are now: the lines that matched or whose exception
    was worked to the end, and the exceptions still open or waiting for review."""
    rows = list(conn.execute(select(recon_days).where(recon_days.c.business_day.in_(days))))
    done = (statement_lines.c.match_class == MatchClass.MATCHED.value) | (
        statement_lines.c.resolution.is_not(None)
    )
    ids = [r.statement_id for r in rows if r.statement_id is not None]
    settled: dict[int, int] = {
        int(statement_id): int(n)
        for statement_id, n in conn.execute(
            select(statement_lines.c.statement_id, func.count())
            .where(statement_lines.c.statement_id.in_(ids), done)
            .group_by(statement_lines.c.statement_id)
        )
    }
    open_counts = {
        (r.source, r.business_day): int(r.n)
        for r in conn.execute(
            select(
                recon_exceptions.c.source,
                recon_exceptions.c.business_day,
                func.count().label("n"),
            )
            .where(
                recon_exceptions.c.business_day.in_(days),
                recon_exceptions.c.status.in_([s.value for s in UNRESOLVED]),
            )
            .group_by(recon_exceptions.c.source, recon_exceptions.c.business_day)
        )
    }
    boxes = {}
    for r in rows:
        key = (r.source, r.business_day)
        boxes[key] = DayBox(
            r.source,
            r.business_day,
            r.status,
            r.lines,
            r.matched,
            open_counts.get(key, 0),
            int(settled.get(r.statement_id, 0)),
        )
    return boxes


@dataclass(frozen=True, slots=True)
class LineRow:
    line_no: int
    kind: str
    order_no: str | None
    refund_no: str | None
    trade_no: str
    amount_fen: int
    fee_fen: int
    at: str
    match_class: str
    class_label: str
    payment_code: str | None
    order_status: str | None
    resolution: str | None = None  # how a line that did not match was closed
    resolution_label: str = ""


def day_lines(conn: Connection, source: str, day: date) -> tuple[Any, list[LineRow]]:
    """The active statement of the day and its lines, each with what it matched."""
    statement = conn.execute(
        select(statements).where(
            statements.c.source == source,
            statements.c.business_day == day,
            statements.c.status == "active",
        )
    ).first()
    if statement is None:
        return None, []
    stmt = (
        select(
            statement_lines,
            payables.c.payment_code,
            payment_orders.c.status.label("order_status"),
        )
        .select_from(
            statement_lines.outerjoin(
                payment_orders, payment_orders.c.id == statement_lines.c.order_id
            )
            .outerjoin(refunds, refunds.c.id == statement_lines.c.refund_id)
            .outerjoin(
                payables,
                payables.c.id == func.coalesce(payment_orders.c.payable_id, refunds.c.payable_id),
            )
        )
        .where(statement_lines.c.statement_id == statement.id)
        .order_by(statement_lines.c.line_no)
    )
    lines = [
        LineRow(
            r.line_no,
            r.kind,
            r.order_no,
            r.refund_no,
            r.trade_no,
            r.amount_fen,
            r.fee_fen,
            r.at,
            r.match_class or "",
            CLASS_LABELS.get(MatchClass(r.match_class), "") if r.match_class else "",
            r.payment_code,
            r.order_status,
            r.resolution,
            RESOLUTION_LABELS[LineResolution(r.resolution)] if r.resolution else "",
        )
        for r in conn.execute(stmt)
    ]
    return statement, lines


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    id: int
    source: str
    business_day: date
    match_class: str
    class_label: str
    key: str
    order_no: str | None
    amount_fen: int
    status: str
    status_label: str
    assignee: str | None
    action: str | None
    reason: str | None
    resolved_by: str | None
    reviewed_by: str | None
    age_days: int
    detail: dict[str, Any]


def _exception_row(r: Any, today: date) -> ExceptionRow:
    return ExceptionRow(
        r.id,
        r.source,
        r.business_day,
        r.match_class,
        CLASS_LABELS[MatchClass(r.match_class)],
        r.key,
        r.order_no,
        r.amount_fen,
        r.status,
        STATUS_LABELS[ExceptionStatus(r.status)],
        r.assignee,
        r.action,
        r.reason,
        r.resolved_by,
        r.reviewed_by,
        max(0, (today - r.business_day).days),
        dict(r.detail or {}),
    )


def exceptions(
    conn: Connection,
    today: date,
    *,
    source: str | None = None,
    day: date | None = None,
    statuses: tuple[str, ...] = (),
) -> list[ExceptionRow]:
    stmt = select(recon_exceptions).order_by(recon_exceptions.c.business_day, recon_exceptions.c.id)
    if source:
        stmt = stmt.where(recon_exceptions.c.source == source)
    if day:
        stmt = stmt.where(recon_exceptions.c.business_day == day)
    if statuses:
        stmt = stmt.where(recon_exceptions.c.status.in_(statuses))
    rows = conn.execute(stmt.limit(EXCEPTION_LIMIT))
    return [_exception_row(r, today) for r in rows]


def exception_by_id(conn: Connection, exception_id: int, today: date) -> ExceptionRow | None:
    row = conn.execute(
        select(recon_exceptions).where(recon_exceptions.c.id == exception_id)
    ).first()
    return None if row is None else _exception_row(row, today)
