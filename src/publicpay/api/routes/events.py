"""Unit API: event list since a cursor, webhook endpoint, manual replay."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from publicpay.api.auth import unit_client
from publicpay.api.deps import container
from publicpay.api.idempotency import idempotent
from publicpay.api.params import Cursor, EventId
from publicpay.api.schemas import (
    EventOut,
    EventsOut,
    LookupEndpointIn,
    LookupEndpointOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound
from publicpay.domain.units import ApiClient
from publicpay.services.units.credentials import set_endpoint, set_lookup_endpoint

router = APIRouter(prefix="/api/v1", tags=["events and webhooks (unit API)"])


@router.get("/events", response_model=EventsOut, summary="拉取事件（游标之后）")
def list_events(
    after: Cursor = 0,
    limit: int = Query(default=100, ge=1, le=500),
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> EventsOut:
    assert client.unit_id is not None
    with c.read_uow() as uow:
        events = uow.events.since(client.unit_id, after, limit)
    return EventsOut(
        events=[
            EventOut(
                cursor=e.cursor,
                id=e.event_id,
                type=e.type,
                created_at=e.created_at.isoformat(),
                data=e.data,
            )
            for e in events
        ],
        next_cursor=events[-1].cursor if events else after,
    )


@router.put(
    "/webhook-endpoint",
    response_model=WebhookEndpointOut,
    summary="设置通知地址（每次生成新密钥；可带 Idempotency-Key 请求头）",
)
def put_webhook_endpoint(
    body: WebhookEndpointIn,
    request: Request,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> Response:
    unit_id = client.unit_id
    assert unit_id is not None

    def set_it() -> WebhookEndpointOut:
        secret = set_endpoint(c.uow(), unit_id, body.url, guard=c.guard, clock=c.clock)
        return WebhookEndpointOut(url=body.url, secret=secret)

    return idempotent(c, request, f"unit:{client.app_id}", body.model_dump_json(), set_it)


@router.put(
    "/lookup-endpoint",
    response_model=LookupEndpointOut,
    summary="设置业务记录查询地址（窗口查不到时平台向业务系统查询；每次生成新密钥）",
)
def put_lookup_endpoint(
    body: LookupEndpointIn,
    request: Request,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> Response:
    unit_id = client.unit_id
    assert unit_id is not None

    def set_it() -> LookupEndpointOut:
        secret = set_lookup_endpoint(c.uow(), unit_id, body.url, guard=c.guard, clock=c.clock)
        return LookupEndpointOut(url=body.url, secret=secret)

    return idempotent(c, request, f"unit:{client.app_id}", body.model_dump_json(), set_it)


@router.post("/events/{event_id}/replay", status_code=202, summary="重新推送某个事件")
def replay(
    event_id: EventId, client: ApiClient = Depends(unit_client), c: Container = Depends(container)
) -> dict[str, str]:
    assert client.unit_id is not None
    with c.uow() as uow:
        if not uow.events.replay(event_id, client.unit_id, c.clock.now()):
            raise NotFound(f"事件 {event_id} 不存在")
        uow.commit()
    return {"id": event_id, "status": "pending"}
