"""接口凭证 (API credentials) screen: list, rotate (the new secret shown once), revoke.

A unit admin manages its own unit's credentials (business system, its devices); a finance
admin those of the units in its region, finance credentials of its region and below, and the
platform-wide ones (collecting bank, unit-less kiosks) when its region is the platform's own.
Scope is checked here on every request, before the service call.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries.units import visible_units
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError
from publicpay.domain.units import ApiClient
from publicpay.services.units.credentials import revoke_client, rotate_client_secret
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
KIND_LABELS = {
    "unit": "业务系统",
    "bank": "代收银行",
    "device": "自助机/POS",
    "finance": "财政部门",
}
GRACE_HOURS = (0, 1, 24, 72, 168)


def _visible(c: Container, v: Viewer) -> list[tuple[ApiClient, str]]:
    """(credential, owner name) the viewer may manage."""
    with c.read_uow() as uow:
        units = {u.id: u.name for u in visible_units(uow.connection, v.actor)}
        clients = uow.units.clients()
    platform = v.actor.unit_id is None and v.actor.sees_region(c.settings.region_code)
    shown = []
    for client in clients:
        if client.unit_id is not None:
            owner = units.get(client.unit_id)
        elif client.kind == "finance":
            region = client.region_code or ""
            owner = (
                f"财政部门 {region}"
                if v.actor.unit_id is None and v.actor.sees_region(region)
                else None
            )
        else:
            owner = "全平台" if platform else None
        if owner is not None:
            shown.append((client, owner))
    return shown


def _target(c: Container, v: Viewer, app_id: str) -> ApiClient:
    for client, _ in _visible(c, v):
        if client.app_id == app_id:
            return client
    raise PageRefused(404, "该凭证不存在或不在您的管辖范围内")


def _context(c: Container, v: Viewer) -> dict[str, Any]:
    rows = [{"client": client, "owner": owner} for client, owner in _visible(c, v)]
    return {"rows": rows, "kinds": KIND_LABELS, "grace_hours": GRACE_HOURS, "now": c.clock.now()}


@router.get("/credentials")
def credentials_page(
    request: Request,
    revoked: str | None = None,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_CREDENTIALS)
    context = {**_context(c, v), "revoked": revoked}
    return render(request, "credentials.html", context, viewer=v)


@router.post("/credentials/{app_id}/rotate")
def rotate(
    request: Request,
    app_id: str,
    grace_h: Annotated[int, Form(ge=0, le=720)] = 24,
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_CREDENTIALS)
    check_csrf(v.csrf, csrf)
    _target(c, v, app_id)
    try:
        secret, client = rotate_client_secret(
            c.uow(), app_id, grace_s=grace_h * 3600, actor=v.actor.audit_name, clock=c.clock
        )
    except DomainError as exc:
        raise PageRefused(409, exc.detail) from None
    c.client_cache.drop(app_id)
    context = {**_context(c, v), "rotated": client, "secret": secret, "grace_h": grace_h}
    page = render(request, "credentials.html", context, viewer=v)
    page.headers["Cache-Control"] = "no-store"  # the secret is shown once, never cached
    return page


@router.post("/credentials/{app_id}/revoke")
def revoke(
    app_id: str,
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_CREDENTIALS)
    check_csrf(v.csrf, csrf)
    _target(c, v, app_id)
    revoke_client(c.uow(), app_id, actor=v.actor.audit_name, clock=c.clock)
    c.client_cache.drop(app_id)
    return RedirectResponse(f"{PATH}/credentials?revoked={app_id}", status_code=303)
