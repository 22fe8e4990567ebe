"""设备管理 (devices, K2): kiosks and POS terminals with their site, status from the last
heartbeat (online, offline, paper low, printer fault), software version, receipt numbers left
at their issuing point, and usage over the last 30 days; registering a device (its credential
shown once). Revoking a device's credential is on the credentials screen.

Finance roles see the devices at sites of their region and below; a unit admin those of its
unit. The scope is checked here on every request, before the service call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from publicpay.adapters.db.queries.devices import Usage, stock_left, usage_since
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.devices import (
    DEVICE_HEALTH_LABELS,
    DEVICE_KIND_LABELS,
    PAPER_LABELS,
    PRINTER_LABELS,
    Device,
    health,
)
from publicpay.domain.errors import DomainError
from publicpay.domain.units import SITE_KIND_LABELS, Site, Window
from publicpay.services.devices.registration import NewDevice, register_device
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
USAGE_DAYS = 30


def _sites(c: Container, v: Viewer) -> list[Site]:
    """Sites in the viewer's scope: its unit's, or those in its region and below."""
    with c.read_uow() as uow:
        sites = uow.units.sites()
    if v.actor.unit_id is not None:
        return [s for s in sites if s.unit_id == v.actor.unit_id]
    return [s for s in sites if v.actor.sees_region(s.region_code)]


def _context(c: Container, v: Viewer) -> dict[str, Any]:
    sites = {s.id: s for s in _sites(c, v)}
    now = c.clock.now()
    with c.read_uow() as uow:
        devices = [d for d in uow.devices.all() if d.site_id in sites]
        active = {k.app_id: k.active for k in uow.units.clients() if k.kind == "device"}
        windows: list[tuple[Site, Window]] = [
            (site, w) for site in sites.values() for w in uow.units.windows(site.id)
        ]
        app_ids = {d.id: d.app_id for d in devices}
        usage = usage_since(uow.connection, now - timedelta(days=USAGE_DAYS), app_ids)
        left = stock_left(uow.connection)
    rows = [_row(d, sites, active, usage, left, now) for d in devices]
    return {
        "rows": rows,
        "sites": list(sites.values()),
        "windows": windows,
        "site_kinds": SITE_KIND_LABELS,
        "kinds": DEVICE_KIND_LABELS,
        "usage_days": USAGE_DAYS,
        "alerts": [
            r for r in rows if r["health"].value in ("offline", "paper_low", "printer_fault")
        ],
    }


def _row(
    device: Device,
    sites: dict[int, Site],
    active: dict[str, bool],
    usage: dict[int, Usage],
    left: dict[str, int],
    now: Any,
) -> dict[str, Any]:
    state = health(device, now, credential_active=active.get(device.app_id, False))
    return {
        "device": device,
        "site": sites[device.site_id] if device.site_id is not None else None,
        "health": state,
        "health_label": DEVICE_HEALTH_LABELS[state],
        "printer": PRINTER_LABELS.get(device.printer, "—") if device.printer else "—",  # type: ignore[call-overload]
        "paper": PAPER_LABELS.get(device.paper, "—") if device.paper else "—",  # type: ignore[call-overload]
        "usage": usage.get(device.id, Usage()),
        "stock_left": left.get(device.issuing_point or "", 0),
    }


@router.get("/devices")
def devices_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_DEVICES)
    return render(request, "devices.html", _context(c, v), viewer=v)


@router.post("/devices")
def register(
    request: Request,
    kind: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    app_id: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    name: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    site_id: Annotated[int, Form(ge=0, le=2**62)] = 0,
    window_id: Annotated[int, Form(ge=0, le=2**62)] = 0,
    card_terminal_id: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_DEVICES)
    check_csrf(v.csrf, csrf)
    if site_id not in {s.id for s in _sites(c, v)}:
        raise PageRefused(404, "该网点不存在或不在您的管辖范围内")
    tid = card_terminal_id.strip() or None
    new = NewDevice(kind, app_id.strip(), name, site_id, window_id or None, tid)
    form = {"kind": kind, "app_id": app_id, "name": name, "site_id": site_id,
            "card_terminal_id": card_terminal_id}  # fmt: skip
    try:
        done = register_device(c.uow(), new, actor=v.actor.audit_name, clock=c.clock)
    except DomainError as exc:
        context = {**_context(c, v), "error": exc.detail, "field_errors": exc.errors, "form": form}
        return render(request, "devices.html", context, viewer=v, status=422)
    context = {**_context(c, v), "registered": done.device, "secret": done.secret}
    page = render(request, "devices.html", context, viewer=v)
    page.headers["Cache-Control"] = "no-store"  # the secret is shown once, never cached
    return page
