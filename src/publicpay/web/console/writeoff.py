"""票据核销 (write-off): one unit in scope, one period → the report and its Excel download.

Finance roles and auditors choose any unit of their region and below; a unit admin only its own
unit. A unit out of scope is answered exactly like a unit that does not exist (404).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from publicpay.adapters.db.queries.units import UnitRow, visible_units
from publicpay.adapters.receipts.writeoff_xlsx import write_off_workbook
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError
from publicpay.domain.receipts.records import WriteOffReport
from publicpay.domain.time import business_date
from publicpay.services.receipts.stock import write_off
from publicpay.web.console.pages import (
    PATH,
    PageRefused,
    Viewer,
    container,
    render,
    require,
    viewer,
)
from publicpay.web.console.pages import (
    digits as _digits,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
SHOWN_RECEIPTS = 500  # on the page; the Excel file has them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(c: Container, date_from: str, date_to: str) -> tuple[date, date]:
    today = business_date(c.clock.now())
    try:
        first = date.fromisoformat(date_from) if date_from else today.replace(day=1)
        last = date.fromisoformat(date_to) if date_to else today
    except ValueError:
        raise PageRefused(422, "日期格式应为 YYYY-MM-DD") from None
    if (last - first).days > 366:
        raise PageRefused(422, "核销期间最长一年")
    return first, last


def _unit(units: list[UnitRow], unit_id: str) -> UnitRow:
    found = next((u for u in units if _digits(unit_id) and u.id == int(unit_id)), None)
    if found is None:
        raise PageRefused(404, "该单位不存在或不在您的管辖范围内")
    return found


def _report(c: Container, v: Viewer, unit_id: str, first: date, last: date) -> WriteOffReport:
    with c.read_uow() as uow:
        units = visible_units(uow.connection, v.actor)
    unit = _unit(units, unit_id)
    try:
        return write_off(c.read_uow(), unit.id, first, last)
    except DomainError as exc:
        raise PageRefused(422, exc.detail) from exc


@router.get("/write-off")
def write_off_page(
    request: Request,
    unit_id: str = "",
    date_from: str = "",
    date_to: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_WRITE_OFF)
    with c.read_uow() as uow:
        units = visible_units(uow.connection, v.actor)
    if not unit_id and len(units) == 1:
        unit_id = str(units[0].id)  # a unit admin: its own unit
    first, last = _period(c, date_from, date_to)
    report = _report(c, v, unit_id, first, last) if unit_id else None
    context = {
        "units": units,
        "unit_id": unit_id,
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "report": report,
        "shown": report.receipts[:SHOWN_RECEIPTS] if report else [],
        "limit": SHOWN_RECEIPTS,
    }
    return render(request, "write_off.html", context, viewer=v)


@router.get("/write-off.xlsx")
def write_off_xlsx(
    unit_id: str = "",
    date_from: str = "",
    date_to: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_WRITE_OFF)
    first, last = _period(c, date_from, date_to)
    report = _report(c, v, unit_id, first, last)
    name = f"write-off-{report.unit_code}-{first}-{last}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(write_off_workbook(report), media_type=XLSX, headers=headers)
