"""Read side of the 回调推送 screen (issue 10): the webhook endpoints of the units in scope and
the delivery log of their events (the last attempt of each), filtered and paginated on the
server, scoped in the query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from publicpay.adapters.db.events import events, webhook_deliveries
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.units import units
from publicpay.domain.access import Actor
from publicpay.domain.events import DeliveryStatus
from publicpay.domain.time import utc

PAGE_SIZE = 50
SHOWN = tuple(s for s in DeliveryStatus if s is not DeliveryStatus.NONE)


@dataclass(frozen=True, slots=True)
class EndpointRow:
    unit_id: int
    unit_code: str
    unit_name: str
    url: str | None
    previous_valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    event_id: str
    unit_id: int
    unit_name: str
    type: str
    created_at: datetime
    delivery: DeliveryStatus
    attempts: int
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_at: datetime | None


def endpoints(conn: Connection, actor: Actor) -> list[EndpointRow]:
    stmt = (
        select(
            units.c.id,
            units.c.code,
            units.c.name,
            units.c.webhook_url,
            units.c.webhook_previous_valid_until,
        )
        .where(unit_scope(actor, units.c.id, units.c.region_code))
        .order_by(units.c.code)
    )
    return [
        EndpointRow(
            r.id,
            r.code,
            r.name,
            r.webhook_url,
            utc(r.webhook_previous_valid_until) if r.webhook_previous_valid_until else None,
        )
        for r in conn.execute(stmt)
    ]


def deliveries(
    conn: Connection, actor: Actor, *, status: str = "", unit_id: int | None = None, page: int = 1
) -> tuple[list[DeliveryRow], int]:
    """Events sent (or to be sent) as webhooks, newest first, with their last attempt."""
    last = (
        select(webhook_deliveries.c.event_id, func.max(webhook_deliveries.c.id).label("last_id"))
        .group_by(webhook_deliveries.c.event_id)
        .subquery()
    )
    conditions = [
        unit_scope(actor, units.c.id, units.c.region_code),
        events.c.delivery.in_([s.value for s in SHOWN]),
    ]
    if status in {s.value for s in SHOWN}:
        conditions.append(events.c.delivery == status)
    if unit_id is not None:
        conditions.append(events.c.unit_id == unit_id)
    joined = events.join(units, units.c.id == events.c.unit_id)
    where = and_(*conditions)
    total = int(conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one())
    stmt = (
        select(
            events,
            units.c.name.label("unit_name"),
            webhook_deliveries.c.status_code,
            webhook_deliveries.c.error,
            webhook_deliveries.c.at.label("last_at"),
        )
        .select_from(
            joined.outerjoin(last, last.c.event_id == events.c.id).outerjoin(
                webhook_deliveries, webhook_deliveries.c.id == last.c.last_id
            )
        )
        .where(where)
        .order_by(events.c.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return [_delivery(r) for r in conn.execute(stmt)], total


def _delivery(r: Any) -> DeliveryRow:
    return DeliveryRow(
        event_id=r.event_id,
        unit_id=r.unit_id,
        unit_name=r.unit_name,
        type=r.type,
        created_at=utc(r.created_at),
        delivery=DeliveryStatus(r.delivery),
        attempts=r.attempts,
        delivered_at=utc(r.delivered_at) if r.delivered_at else None,
        last_status=r.status_code,
        last_error=r.error,
        last_at=utc(r.last_at) if r.last_at else None,
    )
