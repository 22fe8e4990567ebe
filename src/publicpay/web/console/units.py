"""执收单位 (units with their sites, windows and authorised items) and 行政区划 (regions)
screens, issue 10.

A finance admin adds regions below its own, units in its region (each gets its receipt signing
key and its business system's API credential: the secret is shown once), their sites and
numbered windows, and authorises items per unit. Reviewers, auditors and unit admins read what
is in their scope. Every list and detail is filtered by scope in its query: a unit out of scope
answers 404 like one that does not exist.

Editing (the API's rules, one service each: `services.units.administration`): a unit's name,
contact and region (within the editor's scope), disabling and enabling it; renaming a site or a
window, closing and reopening it. Every edit writes an audit row with before and after.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.queries.units import (
    UnitDetail,
    region_names,
    scoped_regions,
    scoped_unit,
    scoped_units,
    unit_sites,
)
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError
from publicpay.domain.units import SITE_KIND_LABELS, UnitDraft
from publicpay.services.catalogue.administration import grant_item, revoke_item
from publicpay.services.units.administration import (
    PlaceChange,
    UnitChange,
    add_region,
    add_site,
    add_unit,
    add_window,
    rename_region,
    set_unit_active,
    update_site,
    update_unit,
    update_window,
)
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
Text = Annotated[str, Form(max_length=300, pattern=NO_CONTROLS)]
OUT_OF_SCOPE = "该单位不存在或不在您的管辖范围内"


def _may_view(v: Viewer) -> None:
    require(v, Permission.VIEW_UNITS)


# --- units ----------------------------------------------------------------------------------------


def _units_page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    with c.read_uow() as uow:
        rows = scoped_units(uow.connection, v.actor)
        regions = scoped_regions(uow.connection, v.actor)
        names = region_names(uow.connection)
    context = {"rows": rows, "regions": regions, "region_names": names, **extra}
    page = render(request, "units.html", context, viewer=v, status=status)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/units")
def units_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    _may_view(v)
    return _units_page(request, c, v)


@router.post("/units")
def create_unit(
    request: Request,
    code: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    name: Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)] = "",
    region_code: Annotated[str, Form(max_length=6, pattern=NO_CONTROLS)] = "",
    credit_code: Annotated[str, Form(max_length=18, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_UNITS)
    check_csrf(v.csrf, csrf)
    draft = UnitDraft(code.strip(), name.strip(), region_code.strip(), credit_code.strip())
    try:
        made = add_unit(c.uow(), draft, sm2.generate_private_key_pem, by=v.actor,
                        source=source(request), clock=c.clock)  # fmt: skip
    except DomainError as exc:
        return _units_page(request, c, v, status=form_status(exc), error=exc.detail, form=draft)
    return _units_page(request, c, v, created=made)


def _unit(c: Container, v: Viewer, unit_id: str) -> UnitDetail:
    found = None
    if digits(unit_id):
        with c.read_uow() as uow:
            found = scoped_unit(uow.connection, v.actor, int(unit_id))
    if found is None:
        raise PageRefused(404, OUT_OF_SCOPE)
    return found


def _unit_page(
    request: Request, c: Container, v: Viewer, unit: UnitDetail, *, status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    with c.read_uow() as uow:
        sites = unit_sites(uow.connection, unit.id)
        items = uow.catalogue.items()
        granted = uow.catalogue.authorised(unit.id)
        names = region_names(uow.connection)
        credentials = [k for k in uow.units.clients() if k.unit_id == unit.id]
    context = {
        "unit": unit,
        "sites": sites,
        "kinds": SITE_KIND_LABELS,
        "granted": [items[code] for code in sorted(granted) if code in items],
        "grantable": [item for code, item in sorted(items.items()) if code not in granted],
        "region_names": names,
        "credentials": credentials,
        **extra,
    }
    return render(request, "unit.html", context, viewer=v, status=status)


@router.get("/units/{unit_id}")
def unit_page(
    request: Request,
    unit_id: str,
    done: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    _may_view(v)
    return _unit_page(request, c, v, _unit(c, v, unit_id), done=done[:40])


def _unit_action(
    request: Request, c: Container, v: Viewer, unit_id: str, csrf: str, permission: Permission
) -> UnitDetail:
    require(v, permission)
    check_csrf(v.csrf, csrf)
    return _unit(c, v, unit_id)


def _after(
    request: Request, c: Container, v: Viewer, unit: UnitDetail, run: Any, done: str
) -> Response:
    """Run a unit's edit; its page again with the refusal, or a redirect to it when done."""
    try:
        run()
    except DomainError as exc:
        return _unit_page(request, c, v, unit, status=form_status(exc), error=exc.detail)
    return RedirectResponse(f"{PATH}/units/{unit.id}?done={done}", status_code=303)


@router.post("/units/{unit_id}/sites")
def create_site(
    request: Request,
    unit_id: str,
    code: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    name: Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)] = "",
    kind: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    address: Text = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    return _after(request, c, v, unit, lambda: add_site(
        c.uow(), unit.id, code.strip(), name, kind, address, by=v.actor,
        source=source(request), clock=c.clock,
    ), "site")  # fmt: skip


@router.post("/units/{unit_id}/sites/{site_id}/windows")
def create_window(
    request: Request,
    unit_id: str,
    site_id: str,
    number: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    name: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    with c.read_uow() as uow:
        own = {s.id for s in unit_sites(uow.connection, unit.id)}
    if not digits(site_id) or int(site_id) not in own:
        raise PageRefused(404, "该网点不存在或不在您的管辖范围内")
    return _after(request, c, v, unit, lambda: add_window(
        c.uow(), int(site_id), number.strip(), name, by=v.actor, source=source(request),
        clock=c.clock,
    ), "window")  # fmt: skip


# --- editing (issue 10): the unit, its sites and windows -------------------------------------


def _edit_page(
    request: Request, c: Container, v: Viewer, unit: UnitDetail, *, status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    with c.read_uow() as uow:
        regions = scoped_regions(uow.connection, v.actor)
    context = {"unit": unit, "regions": regions, **extra}
    return render(request, "unit_edit.html", context, viewer=v, status=status)


@router.get("/units/{unit_id}/edit")
def unit_edit_page(
    request: Request, unit_id: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_UNITS)
    return _edit_page(request, c, v, _unit(c, v, unit_id))


@router.post("/units/{unit_id}/edit")
def edit_unit(
    request: Request,
    unit_id: str,
    name: Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)] = "",
    contact: Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)] = "",
    region_code: Annotated[str, Form(max_length=6, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    change = UnitChange(name, contact, region_code.strip() or None)
    try:
        update_unit(c.uow(), unit.id, change, by=v.actor, source=source(request), clock=c.clock)
    except DomainError as exc:
        form = {"name": name, "contact": contact, "region_code": region_code}
        return _edit_page(request, c, v, unit, status=form_status(exc), error=exc.detail,
                          form=form)  # fmt: skip
    return RedirectResponse(f"{PATH}/units/{unit.id}?done=unit", status_code=303)


@router.post("/units/{unit_id}/disable")
@router.post("/units/{unit_id}/enable")
def toggle_unit(
    request: Request,
    unit_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    active = request.url.path.endswith("/enable")
    response = _after(request, c, v, unit, lambda: set_unit_active(
        c.uow(), unit.id, active, by=v.actor, source=source(request), clock=c.clock
    ), "enabled" if active else "disabled")  # fmt: skip
    c.client_cache.clear()  # its business system is refused (or accepted again) at once here
    return response


def _own_site(c: Container, unit: UnitDetail, site_id: str) -> int:
    """The id of one of the unit's sites, or 404."""
    with c.read_uow() as uow:
        own = {s.id for s in unit_sites(uow.connection, unit.id)}
    if not digits(site_id) or int(site_id) not in own:
        raise PageRefused(404, "该网点不存在或不在您的管辖范围内")
    return int(site_id)


def _own_window(c: Container, unit: UnitDetail, window_id: str) -> int:
    """The id of a window at one of the unit's sites, or 404."""
    with c.read_uow() as uow:
        own = {w.id for s in unit_sites(uow.connection, unit.id) for w in s.windows}
    if not digits(window_id) or int(window_id) not in own:
        raise PageRefused(404, "该窗口不存在或不在您的管辖范围内")
    return int(window_id)


@router.post("/units/{unit_id}/sites/{site_id}/edit")
def edit_site(
    request: Request,
    unit_id: str,
    site_id: str,
    name: Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)] = "",
    address: Text = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    site = _own_site(c, unit, site_id)
    return _after(request, c, v, unit, lambda: update_site(
        c.uow(), site, PlaceChange(name, address), by=v.actor, source=source(request),
        clock=c.clock,
    ), "site_edited")  # fmt: skip


@router.post("/units/{unit_id}/sites/{site_id}/close")
@router.post("/units/{unit_id}/sites/{site_id}/reopen")
def toggle_site(
    request: Request,
    unit_id: str,
    site_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    site = _own_site(c, unit, site_id)
    active = request.url.path.endswith("/reopen")
    return _after(request, c, v, unit, lambda: update_site(
        c.uow(), site, PlaceChange(active=active), by=v.actor, source=source(request),
        clock=c.clock,
    ), "site_reopened" if active else "site_closed")  # fmt: skip


@router.post("/units/{unit_id}/windows/{window_id}/edit")
def edit_window(
    request: Request,
    unit_id: str,
    window_id: str,
    name: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    window = _own_window(c, unit, window_id)
    return _after(request, c, v, unit, lambda: update_window(
        c.uow(), window, PlaceChange(name=name), by=v.actor, source=source(request),
        clock=c.clock,
    ), "window_edited")  # fmt: skip


@router.post("/units/{unit_id}/windows/{window_id}/close")
@router.post("/units/{unit_id}/windows/{window_id}/reopen")
def toggle_window(
    request: Request,
    unit_id: str,
    window_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_UNITS)
    window = _own_window(c, unit, window_id)
    active = request.url.path.endswith("/reopen")
    return _after(request, c, v, unit, lambda: update_window(
        c.uow(), window, PlaceChange(active=active), by=v.actor, source=source(request),
        clock=c.clock,
    ), "window_reopened" if active else "window_closed")  # fmt: skip


@router.post("/units/{unit_id}/grants")
def grant(
    request: Request,
    unit_id: str,
    item_code: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_CATALOGUE)
    return _after(request, c, v, unit, lambda: grant_item(
        c.uow(), unit.id, item_code, by=v.actor, source=source(request), clock=c.clock
    ), "grant")  # fmt: skip


@router.post("/units/{unit_id}/grants/{item_code}/revoke")
def revoke(
    request: Request,
    unit_id: str,
    item_code: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    unit = _unit_action(request, c, v, unit_id, csrf, Permission.MANAGE_CATALOGUE)
    return _after(request, c, v, unit, lambda: revoke_item(
        c.uow(), unit.id, item_code[:20], by=v.actor, source=source(request), clock=c.clock
    ), "revoke")  # fmt: skip


# --- regions --------------------------------------------------------------------------------------


def _regions_page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    with c.read_uow() as uow:
        rows = scoped_regions(uow.connection, v.actor)
    return render(request, "regions.html", {"rows": rows, **extra}, viewer=v, status=status)


@router.get("/regions")
def regions_page(
    request: Request, done: str = "", v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    _may_view(v)
    return _regions_page(request, c, v, done=done[:6])


def _region_edit(
    request: Request, c: Container, v: Viewer, csrf: str, run: Any, code: str
) -> Response:
    require(v, Permission.MANAGE_UNITS)
    check_csrf(v.csrf, csrf)
    try:
        run()
    except DomainError as exc:
        return _regions_page(request, c, v, status=form_status(exc), error=exc.detail)
    return RedirectResponse(f"{PATH}/regions?done={code}", status_code=303)


@router.post("/regions")
def create_region(
    request: Request,
    code: Annotated[str, Form(max_length=6, pattern=NO_CONTROLS)] = "",
    name: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    return _region_edit(request, c, v, csrf, lambda: add_region(
        c.uow(), code.strip(), name, by=v.actor, source=source(request), clock=c.clock
    ), code.strip())  # fmt: skip


@router.post("/regions/{code}/rename")
def rename(
    request: Request,
    code: str,
    name: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    return _region_edit(request, c, v, csrf, lambda: rename_region(
        c.uow(), code[:6], name, by=v.actor, source=source(request), clock=c.clock
    ), code[:6])  # fmt: skip
