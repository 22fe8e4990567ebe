"""Manual replay of a webhook from the console (issue 10): the event goes back to the outbox
(pending, attempts from zero) and the worker delivers it again with a fresh signature. Only an
event of a unit in the acting user's scope; audited."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from publicpay.domain.access import Actor
from publicpay.domain.errors import NotFound
from publicpay.services.events.ports import EventsRepo
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


class ReplayableEvents(EventsRepo, Protocol):
    def replay(self, event_id: str, unit_id: int, at: datetime) -> bool: ...


class ReplayUnitOfWork(UnitOfWork, Protocol):
    @property
    def events(self) -> ReplayableEvents: ...


def replay_event(
    uow: ReplayUnitOfWork, event_id: str, unit_id: int, *, by: Actor, source: str, clock: Clock
) -> None:
    now = clock.now()
    with uow:
        unit = uow.units.get(unit_id)
        in_scope = unit is not None and by.sees_unit(unit.id, unit.region_code)
        if not in_scope or not uow.events.replay(event_id, unit_id, now):
            raise NotFound("该事件不存在或不在您的管辖范围内")
        detail = {"from": source, "unit_id": unit_id, "after": {"delivery": "pending"}}
        uow.audit.append(by.audit_name, "webhook.replayed", event_id, detail, now)
        uow.commit()
