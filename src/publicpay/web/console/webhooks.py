"""回调推送 (webhook endpoints and the delivery log with manual replay), issue 10.

A unit admin sets its unit's notification URL (the new signing secret is shown once) or rotates
the secret; a finance admin does the same for the units in its region. The delivery log lists
each event sent to a unit's system with its last attempt (HTTP status or error); an event that
failed (or any other) can be pushed again. Units and events out of scope answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries.units import scoped_unit
from publicpay.adapters.db.queries.webhooks import PAGE_SIZE, SHOWN, deliveries, endpoints
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError, NotFound
from publicpay.services.events.replay import replay_event
from publicpay.services.units.credentials import rotate_webhook_secret, set_endpoint
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    Csrf,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    digits,
    form_status,
    render,
    require,
    source,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
STATUS_LABELS = {"pending": "待推送", "delivered": "已送达", "failed": "已放弃（可重推）"}


def _page(
    request: Request,
    c: Container,
    v: Viewer,
    *,
    status_filter: str = "",
    unit: int | None = None,
    page: int = 1,
    status: int = 200,
    **extra: Any,
) -> Response:
    with c.read_uow() as uow:
        units = endpoints(uow.connection, v.actor)
        rows, total = deliveries(uow.connection, v.actor, status=status_filter, unit_id=unit,
                                 page=page)  # fmt: skip
    context = {
        "units": units,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "statuses": [s.value for s in SHOWN],
        "labels": STATUS_LABELS,
        "filters": {"status": status_filter, "unit": str(unit or "")},
        **extra,
    }
    response = render(request, "webhooks.html", context, viewer=v, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/webhooks")
def webhooks_page(
    request: Request,
    status: Annotated[str, Query(max_length=20, pattern=NO_CONTROLS)] = "",
    unit: Annotated[str, Query(max_length=18, pattern=NO_CONTROLS)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=60, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_WEBHOOKS)
    unit_id = int(unit) if digits(unit) else None
    return _page(request, c, v, status_filter=status, unit=unit_id, page=page, done=done)


def _unit(c: Container, v: Viewer, unit_id: str, csrf: str) -> int:
    require(v, Permission.MANAGE_WEBHOOKS)
    check_csrf(v.csrf, csrf)
    found = None
    if digits(unit_id):
        with c.read_uow() as uow:
            found = scoped_unit(uow.connection, v.actor, int(unit_id))
    if found is None:
        raise PageRefused(404, "该单位不存在或不在您的管辖范围内")
    return found.id


@router.post("/webhooks/{unit_id}/endpoint")
def save_endpoint(
    request: Request,
    unit_id: str,
    url: Annotated[str, Form(max_length=500, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    target = _unit(c, v, unit_id, csrf)
    try:
        secret = set_endpoint(c.uow(), target, url.strip(), guard=c.guard, clock=c.clock,
                              actor=v.actor.audit_name, source=source(request))  # fmt: skip
    except DomainError as exc:
        return _page(request, c, v, status=form_status(exc), error=exc.detail)
    return _page(request, c, v, secret=secret, secret_unit=target)


@router.post("/webhooks/{unit_id}/rotate")
def rotate(
    request: Request,
    unit_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    target = _unit(c, v, unit_id, csrf)
    try:
        secret, until = rotate_webhook_secret(c.uow(), target, grace_s=24 * 3600,
                                              actor=v.actor.audit_name, clock=c.clock)  # fmt: skip
    except DomainError as exc:
        return _page(request, c, v, status=form_status(exc), error=exc.detail)
    return _page(request, c, v, secret=secret, secret_unit=target, until=until)


@router.post("/webhooks/{unit_id}/events/{event_id}/replay")
def replay(
    request: Request,
    unit_id: str,
    event_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    target = _unit(c, v, unit_id, csrf)
    try:
        replay_event(c.uow(), event_id[:40], target, by=v.actor, source=source(request),
                     clock=c.clock)  # fmt: skip
    except NotFound:
        raise PageRefused(404, "该事件不存在或不在您的管辖范围内") from None
    return RedirectResponse(f"{PATH}/webhooks?done={event_id[:40]}", status_code=303)
