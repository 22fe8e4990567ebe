"""Supervision alerts: their table, the scan that keeps them in step with the detectors'
findings, acknowledgements, and the scoped read for the console.

Scanning is bookkeeping over the platform's own data (no money moves), run by the worker on a
plain connection, one transaction per detector; a detector that fails is logged and skipped
(its alerts stay as they were). Acknowledging is a console action: the route writes its audit
row in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.domain.access import Actor
from publicpay.domain.alerts import AlertStatus, Finding

log = logging.getLogger("publicpay.alerts")

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),  # the detector's name
    Column("key", String(100), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("title", String(100), nullable=False),
    Column("summary", String(300), nullable=False),
    Column("link", String(300), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("unit_id", Id, nullable=True),
    Column("status", String(20), nullable=False),  # domain.alerts.AlertStatus
    Column("first_seen_at", Ts, nullable=False),
    Column("last_seen_at", Ts, nullable=False),
    Column("resolved_at", Ts, nullable=True),
    Column("acknowledged_by", String(100), nullable=True),
    Column("acknowledged_at", Ts, nullable=True),
    Column("note", String(500), nullable=True),
    Column("times", BigInteger, nullable=False),  # scans that found it
    UniqueConstraint("kind", "key", name="uq_alerts_kind_key"),
    Index("ix_alerts_status_region", "status", "region_code"),
)

LIVE = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


def store_findings(
    conn: Connection,
    kind: str,
    title: str,
    severity: str,
    findings: Sequence[Finding],
    now: datetime,
) -> tuple[int, int]:
    """Open (or reopen) an alert per finding, refresh the live ones, resolve those no longer
    found; returns (opened, resolved)."""
    stored = {row.key: row for row in conn.execute(select(alerts).where(alerts.c.kind == kind))}
    opened = 0
    found_keys = set()
    for f in findings:
        found_keys.add(f.key)
        row = stored.get(f.key)
        values: dict[str, Any] = {
            "summary": f.summary[:300],
            "link": f.link[:300],
            "region_code": f.region_code,
            "unit_id": f.unit_id,
            "last_seen_at": now,
            "title": title,
            "severity": severity,
        }
        if row is None:
            conn.execute(
                insert(alerts).values(
                    kind=kind,
                    key=f.key[:100],
                    status=AlertStatus.OPEN.value,
                    first_seen_at=now,
                    times=1,
                    **values,
                )
            )
            opened += 1
        elif row.status == AlertStatus.RESOLVED.value:
            reopen = {"status": AlertStatus.OPEN.value, "first_seen_at": now, "resolved_at": None}
            reopen |= {"acknowledged_by": None, "acknowledged_at": None, "note": None}
            conn.execute(
                update(alerts)
                .where(alerts.c.id == row.id)
                .values(times=alerts.c.times + 1, **values, **reopen)
            )
            opened += 1
        else:
            conn.execute(
                update(alerts)
                .where(alerts.c.id == row.id)
                .values(times=alerts.c.times + 1, **values)
            )
    gone = [r.id for r in stored.values() if r.status in LIVE and r.key not in found_keys]
    if gone:
        conn.execute(
            update(alerts)
            .where(alerts.c.id.in_(gone))
            .values(status=AlertStatus.RESOLVED.value, resolved_at=now)
        )
    return opened, len(gone)


def scan(
    engine: Engine,
    detectors: Iterable[Any],
    now: datetime,
    region_code: str,
) -> int:
    """Run every detector and store what it found; returns the number of alerts opened."""
    opened = 0
    for d in detectors:
        try:
            with engine.begin() as conn:
                findings = d.find(conn, now, region_code)
                opened += store_findings(conn, d.kind, d.title, d.severity, findings, now)[0]
        except Exception:  # one broken detector must not stop the others
            log.exception("alert detector %s failed", d.kind)
    return opened


def visible(
    conn: Connection,
    actor: Actor,
    *,
    statuses: Sequence[str] = LIVE,
    kind: str = "",
    limit: int = 200,
) -> list[Any]:
    """The alerts the actor may see (scoped in the query), most severe and newest first."""
    stmt = (
        select(alerts)
        .where(alerts.c.status.in_(list(statuses)), _scope(actor))
        .order_by(alerts.c.severity, alerts.c.last_seen_at.desc(), alerts.c.id.desc())
        .limit(limit)
    )
    if kind:
        stmt = stmt.where(alerts.c.kind == kind)
    return list(conn.execute(stmt))


def counts(conn: Connection, actor: Actor) -> dict[str, int]:
    stmt = (
        select(alerts.c.status, func.count().label("n"))
        .where(_scope(actor))
        .group_by(alerts.c.status)
    )
    return {row.status: int(row.n) for row in conn.execute(stmt)}


def _scope(actor: Actor) -> Any:
    return unit_scope(actor, alerts.c.unit_id, alerts.c.region_code)


def acknowledge(
    conn: Connection, actor: Actor, alert_id: int, note: str, now: datetime
) -> Any | None:
    """Acknowledge a live alert in the actor's scope; None when there is none (or not in scope)."""
    found = conn.execute(
        select(alerts).where(alerts.c.id == alert_id, _scope(actor)).with_for_update()
    ).first()
    if found is None:
        return None
    if found.status == AlertStatus.OPEN.value:
        conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id)
            .values(
                status=AlertStatus.ACKNOWLEDGED.value,
                acknowledged_by=actor.username,
                acknowledged_at=now,
                note=note,
            )
        )
    return found


Find = Callable[[Connection, datetime, str], list[Finding]]
