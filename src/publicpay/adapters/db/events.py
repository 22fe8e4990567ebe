"""Event log (cursor for business systems) doubling as the webhook outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)

from publicpay.adapters.db.deferred import pg_defer
from publicpay.adapters.db.dialect import pg_insert_sql, pg_values
from publicpay.adapters.db.leases import claim_leased
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.domain.events import StoredEvent
from publicpay.domain.time import utc

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Ts, nullable=False),
    # outbox delivery state (webhooks)
    Column("delivery", String(20), nullable=False),  # pending | delivered | failed | none
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Ts, nullable=True),
    Column("delivered_at", Ts, nullable=True),
    Index("ix_events_unit_id_id", "unit_id", "id"),
    Index("ix_events_delivery_next", "delivery", "next_attempt_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("events.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("url", String(500), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("at", Ts, nullable=False),
)


_INSERT = insert(events)


class EventsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self, unit_id: int, type_: str, data: dict[str, Any], at: datetime, *, deliver: bool
    ) -> str:
        event_id = f"evt_{uuid.uuid4().hex}"
        row = {
            "event_id": event_id,
            "unit_id": unit_id,
            "type": type_,
            "data": data,
            "created_at": at,
            "delivery": "pending" if deliver else "none",
            "attempts": 0,
            "next_attempt_at": at if deliver else None,
        }
        if not pg_defer(self._conn, pg_insert_sql("events", tuple(row)), pg_values(row)):
            self._conn.execute(_INSERT, row)
        return event_id

    def since(self, unit_id: int, cursor: int, limit: int) -> list[StoredEvent]:
        stmt = (
            select(events)
            .where(events.c.unit_id == unit_id, events.c.id > cursor)
            .order_by(events.c.id)
            .limit(limit)
        )
        return [_hydrate(row) for row in self._conn.execute(stmt)]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[StoredEvent]:
        """Lease due deliveries so no other worker takes them while this one delivers."""
        due = (events.c.delivery == "pending") & (events.c.next_attempt_at <= now)
        order = (events.c.next_attempt_at, events.c.id)
        rows = claim_leased(self._conn, events, due, order, limit, now, lease)
        return [_hydrate(row, attempts_delta=1) for row in rows]

    def delivered(self, cursor: int, at: datetime) -> None:
        self._conn.execute(
            update(events)
            .where(events.c.id == cursor)
            .values(delivery="delivered", delivered_at=at, next_attempt_at=None)
        )

    def retry_at(self, cursor: int, at: datetime | None) -> None:
        """Schedule the next attempt, or give up (`None`: failed, kept for manual replay)."""
        values: dict[str, Any] = (
            {"next_attempt_at": at} if at else {"delivery": "failed", "next_attempt_at": None}
        )
        self._conn.execute(update(events).where(events.c.id == cursor).values(**values))

    def replay(self, event_id: str, unit_id: int, at: datetime) -> bool:
        """Deliver again (manual replay); only the owning unit's events."""
        result = self._conn.execute(
            update(events)
            .where(events.c.event_id == event_id, events.c.unit_id == unit_id)
            .values(delivery="pending", next_attempt_at=at, attempts=0)
        )
        return int(result.rowcount) == 1

    def log_delivery(
        self,
        cursor: int,
        attempt: int,
        url: str,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        at: datetime,
    ) -> None:
        self._conn.execute(
            insert(webhook_deliveries).values(
                event_id=cursor,
                attempt=attempt,
                url=url,
                status_code=status_code,
                error=error[:500] if error else None,
                duration_ms=duration_ms,
                at=at,
            )
        )


def _hydrate(row: Any, attempts_delta: int = 0) -> StoredEvent:
    return StoredEvent(
        cursor=row.id,
        event_id=row.event_id,
        unit_id=row.unit_id,
        type=row.type,
        data=row.data,
        created_at=utc(row.created_at),
        attempts=row.attempts + attempts_delta,
        delivery=row.delivery,
    )
