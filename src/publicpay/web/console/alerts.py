"""监管预警 (`/console/alerts`): the supervision alerts of the viewer's scope — what the
detectors found (orders stuck paying, payments without a receipt, refund-rate outliers, receipt
stock running low, devices offline, paper low or printer fault, reconciliation differences left
open, clearing not confirmed), each linking the rows concerned, acknowledged with a note
(audited). The default list is what still waits for someone (待处理): an acknowledged alert
leaves it (shown under 已确认 until its cause is gone). Scoped in the query; another scope's
alert answers 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import insert

from publicpay.adapters.db import alerts as store
from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.queries.alerts import DETECTORS
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.alerts import AlertStatus, Severity, acknowledgement_note
from publicpay.domain.errors import ValidationFailed
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    digits,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
NOT_FOUND = "该预警不存在或不在您的管辖范围内"
SHOWN = {
    "live": (AlertStatus.OPEN.value,),
    "acknowledged": (AlertStatus.ACKNOWLEDGED.value,),
    "resolved": (AlertStatus.RESOLVED.value,),
}


@router.get("/alerts")
def alerts_page(
    request: Request,
    show: str = "live",
    kind: str = "",
    done: int | None = None,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_ALERTS)
    if show not in SHOWN or (kind and kind not in DETECTORS):
        raise PageRefused(422, "查询条件有误：未知的预警类别或状态")
    with c.read_uow() as uow:
        rows = store.visible(uow.connection, v.actor, statuses=SHOWN[show], kind=kind)
        totals = store.counts(uow.connection, v.actor)
    context = {
        "rows": rows,
        "totals": totals,
        "show": show,
        "kind": kind,
        "done": done,
        "detectors": DETECTORS,
        "Status": AlertStatus,
        "Severity": Severity,
        "error": "",
    }
    return render(request, "alerts.html", context, viewer=v)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    alert_id: str,
    note: Annotated[str, Form(max_length=600)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.ACKNOWLEDGE_ALERTS)
    check_csrf(v.csrf, csrf)
    if not digits(alert_id):
        raise PageRefused(404, NOT_FOUND)
    try:
        text = acknowledgement_note(note)
    except ValidationFailed as exc:
        raise PageRefused(422, exc.detail) from exc
    now = c.clock.now()
    with c.engines.write.begin() as conn:
        found = store.acknowledge(conn, v.actor, int(alert_id), text, now)
        if found is None:
            raise PageRefused(404, NOT_FOUND)
        before = {"status": found.status, "note": found.note}
        detail = {"kind": found.kind, "key": found.key, "before": before, "note": text}
        conn.execute(
            insert(audit_log).values(
                at=now,
                actor=v.actor.audit_name,
                action="alert.acknowledge",
                target=f"alert:{found.id}",
                detail=detail,
            )
        )
    return RedirectResponse(f"{PATH}/alerts?done={found.id}", status_code=303)
