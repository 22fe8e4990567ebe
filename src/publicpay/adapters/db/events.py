"""Event log (cursor for business systems) doubling as the webhook outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    select,
    update,
)

from publicpay.adapters.db.leases import Leases
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.domain.events import DeliveryStatus, StoredEvent
from publicpay.domain.time import utc

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    # no foreign key (0030): `publicpay check` proves the unit, at no cost per event
    Column("unit_id", Id, nullable=False),
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


_SINCE = (
    select(events)
    .where(events.c.unit_id == bindparam("unit_id"), events.c.id > bindparam("cursor"))
    .order_by(events.c.id)
    .limit(bindparam("limit"))
)
_DUE = Leases(
    events,
    (events.c.delivery == DeliveryStatus.PENDING.value)
    & (events.c.next_attempt_at <= bindparam("now")),
    (events.c.next_attempt_at, events.c.id),
)
_DELIVERED = (
    update(events)
    .where(events.c.id == bindparam("b_id"))
    .values(
        delivery=DeliveryStatus.DELIVERED.value, delivered_at=bindparam("at"), next_attempt_at=None
    )
)
_RETRY_AT = (
    update(events).where(events.c.id == bindparam("b_id")).values(next_attempt_at=bindparam("at"))
)
_GIVE_UP = (
    update(events)
    .where(events.c.id == bindparam("b_id"))
    .values(delivery=DeliveryStatus.FAILED.value, next_attempt_at=None)
)
_REPLAY = (
    update(events)
    .where(events.c.event_id == bindparam("event_id"), events.c.unit_id == bindparam("unit_id"))
    .values(delivery=DeliveryStatus.PENDING.value, next_attempt_at=bindparam("at"), attempts=0)
)


class EventsRepository:
    """`add` is queued (the outbox message goes out with the commit); the delivery side runs
    at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

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
            "delivery": (DeliveryStatus.PENDING if deliver else DeliveryStatus.NONE).value,
            "attempts": 0,
            "next_attempt_at": at if deliver else None,
        }
        self._sql.queue(Insert(events, (row,)))
        return event_id

    def since(self, unit_id: int, cursor: int, limit: int) -> list[StoredEvent]:
        rows = self._sql.all(_SINCE, {"unit_id": unit_id, "cursor": cursor, "limit": limit})
        return [_hydrate(row) for row in rows]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[StoredEvent]:
        """Lease due deliveries so no other worker takes them while this one delivers."""
        rows = _DUE.claim(self._sql, now, limit, lease)
        return [_hydrate(row, attempts_delta=1) for row in rows]

    def delivered(self, cursor: int, at: datetime) -> None:
        self._sql.run(_DELIVERED, {"b_id": cursor, "at": at})

    def retry_at(self, cursor: int, at: datetime | None) -> None:
        """Schedule the next attempt, or give up (`None`: failed, kept for manual replay)."""
        if at is None:
            self._sql.run(_GIVE_UP, {"b_id": cursor})
        else:
            self._sql.run(_RETRY_AT, {"b_id": cursor, "at": at})

    def replay(self, event_id: str, unit_id: int, at: datetime) -> bool:
        """Deliver again (manual replay); only the owning unit's events."""
        params = {"event_id": event_id, "unit_id": unit_id, "at": at}
        return self._sql.run(_REPLAY, params) == 1

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
        row = {
            "event_id": cursor,
            "attempt": attempt,
            "url": url,
            "status_code": status_code,
            "error": error[:500] if error else None,
            "duration_ms": duration_ms,
            "at": at,
        }
        self._sql.insert(webhook_deliveries, row)


def _hydrate(row: Any, attempts_delta: int = 0) -> StoredEvent:
    return StoredEvent(
        cursor=row.id,
        event_id=row.event_id,
        unit_id=row.unit_id,
        type=row.type,
        data=row.data,
        created_at=utc(row.created_at),
        attempts=row.attempts + attempts_delta,
        delivery=DeliveryStatus(row.delivery),
    )
