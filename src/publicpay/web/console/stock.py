"""票据号段 (receipt stock) and 签名密钥 (signing keys) screens.

Finance roles see the ranges of the units in their region and below, and the ranges of 开票点
shared by all units (kiosks) when their region covers the platform's own bureau; a unit admin
sees its unit's ranges. Only a finance admin allocates ranges and rotates keys, and only for
units (and bureaus) in scope; the checks run here on every request, before the service call.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.queries.units import UnitRow, device_ids, region_names, visible_units
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import Conflict, DomainError
from publicpay.domain.receipts.receipts import receipt_code
from publicpay.domain.receipts.records import StockRange
from publicpay.domain.time import business_date
from publicpay.services.receipts.stock import allocate_stock, install_key
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
from publicpay.web.console.pages import (
    digits as _digits,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
OUT_OF_SCOPE = "该单位不存在或不在您的管辖范围内"


def _scope(c: Container, v: Viewer) -> tuple[list[UnitRow], bool, list[StockRange]]:
    """(visible units, may see shared 开票点 ranges, visible ranges)."""
    with c.read_uow() as uow:
        units = visible_units(uow.connection, v.actor)
        stocks = uow.receipts.stocks()
    shared = v.actor.sees_region(c.settings.region_code)
    ids = {u.id for u in units}
    shown = [s for s in stocks if (s.unit_id in ids if s.unit_id is not None else shared)]
    return units, shared, shown


def _stock_context(c: Container, v: Viewer, form: dict[str, str] | None = None) -> dict[str, Any]:
    units, shared, stocks = _scope(c, v)
    with c.read_uow() as uow:
        devices = device_ids(uow.connection) if shared else []
    code = receipt_code(c.settings.region_code[:2], "01", "01", business_date(c.clock.now()).year)
    same_code = [s.end for s in stocks if s.code == code]
    suggested = {"code": code, "start": str(max(same_code, default=0) + 1), "count": "1000"}
    return {
        "units": units,
        "unit_names": {u.id: u.name for u in units},
        "stocks": stocks,
        "devices": devices,
        "form": {"unit_id": "", "issuing_point": "", **suggested, **(form or {})},
        "error": "",
    }


@router.get("/stock")
def stock_page(
    request: Request,
    done: int | None = None,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_STOCK)
    context = _stock_context(c, v)
    context["done"] = done
    return render(request, "stock.html", context, viewer=v)


@router.post("/stock")
def allocate(
    request: Request,
    code: Annotated[str, Form(max_length=8, pattern=NO_CONTROLS)] = "",
    start: Annotated[str, Form(max_length=12, pattern=NO_CONTROLS)] = "",
    count: Annotated[str, Form(max_length=12, pattern=NO_CONTROLS)] = "",
    unit_id: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    issuing_point: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.ALLOCATE_STOCK)
    check_csrf(v.csrf, csrf)
    form = {"code": code, "start": start, "count": count, "unit_id": unit_id}
    form["issuing_point"] = issuing_point
    try:
        unit = _target_unit(c, v, unit_id, issuing_point)
        first, size = _number(start, "起始号码"), _number(count, "份数")
        stock_id = allocate_stock(
            c.uow(), code.strip(), first, size, unit_id=unit, issuing_point=issuing_point or None,
            actor=v.actor.audit_name, clock=c.clock,
        )  # fmt: skip
    except (DomainError, PageRefused) as exc:
        context = _stock_context(c, v, form)
        status = _status(exc)
        context["error"] = exc.message if isinstance(exc, PageRefused) else exc.detail
        return render(request, "stock.html", context, viewer=v, status=status)
    return RedirectResponse(f"{PATH}/stock?done={stock_id}", status_code=303)


def _status(exc: Exception) -> int:
    if isinstance(exc, PageRefused):
        return exc.status
    return 409 if isinstance(exc, Conflict) else 422


def _number(text: str, label: str) -> int:
    if not _digits(text.strip()):
        raise PageRefused(422, f"{label}应为数字")
    return int(text.strip())


def _target_unit(c: Container, v: Viewer, unit_id: str, issuing_point: str) -> int | None:
    """The unit id to allocate to (in scope), or None for a 开票点 shared by all units."""
    if unit_id:
        units, _, _ = _scope(c, v)
        if not _digits(unit_id) or int(unit_id) not in {u.id for u in units}:
            raise PageRefused(403, OUT_OF_SCOPE)
        return int(unit_id)
    if not issuing_point:
        raise PageRefused(422, "请选择领用单位或开票点")
    with c.read_uow() as uow:
        known = issuing_point in device_ids(uow.connection)
    if not known or not v.actor.sees_region(c.settings.region_code):
        raise PageRefused(403, "该开票点不存在或不在您的管辖范围内")
    return None


# --- signing keys ---------------------------------------------------------------------------


def _keys_context(c: Container, v: Viewer) -> dict[str, Any]:
    units = {u.code: u.name for u in _scope(c, v)[0]}
    with c.read_uow() as uow:
        keys = uow.receipts.keys()
        regions = region_names(uow.connection)
    rows = []
    for key in reversed(keys):
        if key.signer == "unit" and key.owner in units:
            owner = units[key.owner]
        elif key.signer == "finance" and v.actor.sees_region(key.owner):
            owner = f"{regions.get(key.owner, key.owner)}财政局"
        else:
            continue
        fingerprint = hashlib.sha256(key.public_key_pem).hexdigest()[:16]
        rows.append({"key": key, "owner_name": owner, "fingerprint": fingerprint})
    return {"rows": rows}


@router.get("/keys")
def keys_page(
    request: Request,
    done: int | None = None,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.ROTATE_KEYS)
    return render(request, "keys.html", {**_keys_context(c, v), "done": done}, viewer=v)


@router.post("/keys/rotate")
def rotate_key(
    signer: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    owner: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.ROTATE_KEYS)
    check_csrf(v.csrf, csrf)
    in_scope = any(
        row["key"].signer == signer and row["key"].owner == owner and row["key"].active
        for row in _keys_context(c, v)["rows"]
    )
    if not in_scope:
        raise PageRefused(404, "该签名密钥不存在或不在您的管辖范围内")
    key_id = install_key(
        c.uow(),
        signer,
        owner,
        sm2.generate_private_key_pem(),
        actor=v.actor.audit_name,
        clock=c.clock,
    )
    return RedirectResponse(f"{PATH}/keys?done={key_id}", status_code=303)
