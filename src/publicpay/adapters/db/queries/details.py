"""A row of the console's lists opened: a payable with its history (state changes from the
audit log, payment orders, the ledger journal, receipts, refunds, events and their webhook
deliveries), or one event with its deliveries.

The first statement of each is scoped by the acting user in its WHERE clause: a payable or an
event of a unit the user may not see is not found (the page answers 404, exactly as for an id
that does not exist), and nothing else about it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from publicpay.adapters.db.audit import audit_log, recorded
from publicpay.adapters.db.events import events, webhook_deliveries
from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.adapters.db.reconciliation.tables import statement_lines, statements
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.units import units
from publicpay.domain.access import Actor, Permission

_PAYABLE_COLUMNS = [c for c in payables.c if c.name not in ("payer_id_enc", "request_hash")]


@dataclass(frozen=True, slots=True)
class Journal:
    id: int
    kind: str
    ref: str
    business_date: Any
    created_at: Any
    postings: list[Any]


@dataclass(frozen=True, slots=True)
class PayableDetail:
    payable: Any
    unit_name: str
    lines: list[Any]
    history: list[Any]  # audit rows: who changed what, when
    orders: list[Any]
    journals: list[Journal]
    receipts: list[Any]
    refunds: list[Any]
    events: list[Any]
    deliveries: list[Any]
    statement_lines: list[Any] = field(default_factory=list)  # finance roles only


@dataclass(frozen=True, slots=True)
class EventDetail:
    event: Any
    unit_name: str
    deliveries: list[Any]


def payable_detail(conn: Connection, actor: Actor, payment_code: str) -> PayableDetail | None:
    stmt = (
        select(*_PAYABLE_COLUMNS, units.c.name.label("unit_name"))
        .select_from(payables.join(units, units.c.id == payables.c.unit_id))
        .where(
            payables.c.payment_code == payment_code,
            unit_scope(actor, payables.c.unit_id, units.c.region_code),
        )
    )
    p = conn.execute(stmt).first()
    if p is None:
        return None
    found_events = _events_of(conn, p.unit_id, payment_code)
    return PayableDetail(
        payable=p,
        unit_name=p.unit_name,
        lines=_all(conn, select(payable_lines).where(payable_lines.c.payable_id == p.id)),
        history=_all(
            conn,
            select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.detail)
            .where(recorded(audit_log.c.target == payment_code))
            .order_by(audit_log.c.id),
        ),
        orders=_all(
            conn,
            select(payment_orders)
            .where(payment_orders.c.payable_id == p.id)
            .order_by(payment_orders.c.id),
        ),
        journals=_journals(conn, p.id),
        receipts=_all(
            conn,
            select(
                *(c for c in receipts.c if c.name not in ("xml", "pdf")),
            )
            .where(receipts.c.payable_id == p.id)
            .order_by(receipts.c.id),
        ),
        refunds=_all(
            conn, select(refunds).where(refunds.c.payable_id == p.id).order_by(refunds.c.id)
        ),
        events=found_events,
        deliveries=_deliveries(conn, [e.id for e in found_events]),
        statement_lines=(
            _statement_lines(conn, p.id) if actor.can(Permission.VIEW_RECONCILIATION) else []
        ),
    )


def _statement_lines(conn: Connection, payable_id: int) -> list[Any]:
    """Where the payable's orders and refunds stand in reconciliation: the line of each active
    statement that names one (its source, day, file and class), in the order of the days."""
    orders = select(payment_orders.c.id).where(payment_orders.c.payable_id == payable_id)
    refunded = select(refunds.c.id).where(refunds.c.payable_id == payable_id)
    return _all(
        conn,
        select(
            statements.c.source,
            statements.c.business_day,
            statements.c.digest,
            statement_lines.c.line_no,
            statement_lines.c.kind,
            statement_lines.c.order_no,
            statement_lines.c.refund_no,
            statement_lines.c.trade_no,
            statement_lines.c.amount_fen,
            statement_lines.c.match_class,
            statement_lines.c.resolution,
        )
        .select_from(
            statement_lines.join(statements, statements.c.id == statement_lines.c.statement_id)
        )
        .where(
            statements.c.status == "active",
            statement_lines.c.order_id.in_(orders.scalar_subquery())
            | statement_lines.c.refund_id.in_(refunded.scalar_subquery()),
        )
        .order_by(statements.c.business_day, statements.c.source, statement_lines.c.line_no),
    )


def event_detail(conn: Connection, actor: Actor, event_id: str) -> EventDetail | None:
    stmt = (
        select(events, units.c.name.label("unit_name"))
        .select_from(events.join(units, units.c.id == events.c.unit_id))
        .where(
            events.c.event_id == event_id,
            unit_scope(actor, events.c.unit_id, units.c.region_code),
        )
    )
    e = conn.execute(stmt).first()
    if e is None:
        return None
    return EventDetail(e, e.unit_name, _deliveries(conn, [e.id]))


def _all(conn: Connection, stmt: Any) -> list[Any]:
    return list(conn.execute(stmt))


def _journals(conn: Connection, payable_id: int) -> list[Journal]:
    rows = _all(
        conn,
        select(ledger_journals, ledger_postings.c.account, ledger_postings.c.amount_fen)
        .select_from(
            ledger_journals.join(
                ledger_postings, ledger_postings.c.journal_id == ledger_journals.c.id
            )
        )
        .where(ledger_journals.c.payable_id == payable_id)
        .order_by(ledger_journals.c.id, ledger_postings.c.id),
    )
    journals: dict[int, Journal] = {}
    for r in rows:
        journal = journals.get(r.id)
        if journal is None:
            journal = journals[r.id] = Journal(
                r.id, r.kind, r.ref, r.business_date, r.created_at, []
            )
        journal.postings.append(r)
    return list(journals.values())


def _events_of(conn: Connection, unit_id: int, payment_code: str) -> list[Any]:
    """The unit's events about this payable (their data names its payment code)."""
    stmt = (
        select(events)
        .where(
            events.c.unit_id == unit_id,
            events.c.data["payment_code"].as_string() == payment_code,
        )
        .order_by(events.c.id)
    )
    return _all(conn, stmt)


def _deliveries(conn: Connection, event_ids: list[int]) -> list[Any]:
    if not event_ids:
        return []
    stmt = (
        select(webhook_deliveries, events.c.event_id.label("event_code"), events.c.type)
        .select_from(webhook_deliveries.join(events, events.c.id == webhook_deliveries.c.event_id))
        .where(webhook_deliveries.c.event_id.in_(event_ids))
        .order_by(webhook_deliveries.c.id)
    )
    return _all(conn, stmt)
