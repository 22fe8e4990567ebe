"""收费班次 (the cash office): the cashier's shift screen (open, takings so far, close with the
cash counted by denomination), the supervisors' confirmation queue, shift reports with Excel
and CSV export, the deposit slip (PDF) and finance's record of a deposit's arrival; and the
cashier's shift as JSON for the window POS page (`/console/api/shift`: the same session, writes
with the session's CSRF token in `X-CSRF-Token`, refusals as application/problem+json).

Scope: every list and every shift or deposit looked up by id is limited in its statement to the
units the viewer may see (a cashier: their own shifts only); anything else answers 404. The
rules themselves (own shift, closed once, maker-checker) are the services'.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, StrictInt

from publicpay.adapters.db.queries.shifts import (
    ShiftRow,
    awaiting_confirmation,
    cashier_windows,
    shift_report,
    shift_row,
)
from publicpay.adapters.db.queries.units import UnitRow, visible_units
from publicpay.adapters.receipts.formats import receipt_policy
from publicpay.adapters.shifts.deposit_slip import DepositSlip, render_deposit_slip
from publicpay.adapters.shifts.report_xlsx import HEADER, report_cells, shift_report_workbook
from publicpay.adapters.spreadsheets import csv_bytes
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission, Role
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.shifts import (
    DENOMINATIONS,
    MAX_FLOAT_FEN,
    MAX_PIECES,
    SHIFT_STATUS_LABELS,
    Deposit,
    DepositStatus,
    Shift,
    ShiftStatus,
    Takings,
    difference_text,
)
from publicpay.domain.time import business_date
from publicpay.services.shifts.closing import (
    CloseShift,
    ConfirmShift,
    close_shift,
    confirm_shift,
    current_shift,
    shift_view,
)
from publicpay.services.shifts.deposits import CreditDeposit, credit_deposit
from publicpay.services.shifts.opening import OpenShift, open_shift
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    render,
    viewer,
)
from publicpay.web.console.pages import digits as _digits

log = logging.getLogger("publicpay.web.console.shifts")
router = APIRouter(prefix=PATH, include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DAYS = 92
NOT_FOUND = "该班次不存在或不在您的管辖范围内"
CSRF = Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)]
NOTE = Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)]


class CountForm(BaseModel):
    """The closing count: pieces of each denomination (field `d<fen>`), a note, the token."""

    d10000: int = Field(0, ge=0, le=MAX_PIECES)
    d5000: int = Field(0, ge=0, le=MAX_PIECES)
    d2000: int = Field(0, ge=0, le=MAX_PIECES)
    d1000: int = Field(0, ge=0, le=MAX_PIECES)
    d500: int = Field(0, ge=0, le=MAX_PIECES)
    d100: int = Field(0, ge=0, le=MAX_PIECES)
    d50: int = Field(0, ge=0, le=MAX_PIECES)
    d10: int = Field(0, ge=0, le=MAX_PIECES)
    note: str = Field("", max_length=200, pattern=NO_CONTROLS)
    csrf: str = Field("", max_length=100, pattern=NO_CONTROLS)

    def pieces(self) -> dict[int, int]:
        return {value: getattr(self, f"d{value}") for value, _ in DENOMINATIONS}


def _allowed(v: Viewer) -> None:
    if not (
        v.actor.can(Permission.OPERATE_SHIFT)
        or v.actor.can(Permission.CONFIRM_SHIFTS)
        or v.actor.can(Permission.VIEW_SHIFT_REPORTS)
    ):
        raise PageRefused(403, f"您的角色（{v.actor.label}）无权使用此功能")


def _units(c: Container, v: Viewer) -> list[UnitRow]:
    with c.read_uow() as uow:
        return visible_units(uow.connection, v.actor)


def _period(c: Container, date_from: str, date_to: str) -> tuple[date, date]:
    today = business_date(c.clock.now())
    try:
        first = date.fromisoformat(date_from) if date_from else today
        last = date.fromisoformat(date_to) if date_to else today
    except ValueError:
        raise PageRefused(422, "日期格式应为 YYYY-MM-DD") from None
    if last < first or (last - first).days > MAX_DAYS:
        raise PageRefused(422, f"报表期间应为 1 至 {MAX_DAYS} 天，结束日期不早于开始日期")
    return first, last


def _report_scope(units: list[UnitRow], unit_id: str) -> list[int]:
    if not unit_id:
        return [u.id for u in units]
    chosen = [u.id for u in units if _digits(unit_id) and u.id == int(unit_id)]
    if not chosen:
        raise PageRefused(404, "该单位不存在或不在您的管辖范围内")
    return chosen


def _page_context(
    c: Container, v: Viewer, unit_id: str = "", date_from: str = "", date_to: str = ""
) -> dict[str, Any]:
    units = _units(c, v)
    ids = [u.id for u in units]
    first, last = _period(c, date_from, date_to)
    context: dict[str, Any] = {
        "units": units,
        "unit_id": unit_id,
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "denominations": DENOMINATIONS,
        "difference_text": difference_text,
        "ShiftStatus": ShiftStatus,
    }
    with c.read_uow() as uow:
        conn = uow.connection
        if v.actor.can(Permission.OPERATE_SHIFT) and v.actor.unit_id is not None:
            week = business_date(c.clock.now()) - timedelta(days=7)
            context["windows"] = cashier_windows(conn, v.actor.unit_id)
            context["recent"] = shift_report(
                conn, ids, date_from=week, date_to=last, cashier_id=v.actor.user_id
            )
        if v.actor.can(Permission.CONFIRM_SHIFTS):
            context["queue"] = awaiting_confirmation(conn, ids)
        if v.actor.can(Permission.VIEW_SHIFT_REPORTS):
            rows = shift_report(conn, _report_scope(units, unit_id), date_from=first, date_to=last)
            context["report"] = rows
            context["totals"] = _totals(rows)
    if v.actor.can(Permission.OPERATE_SHIFT):
        context["current"] = current_shift(c.uow(), v.actor)
    return context


def _totals(rows: list[ShiftRow]) -> dict[str, int]:
    return {
        "shifts": len(rows),
        "taken_fen": sum(r.taken_fen for r in rows),
        "cash_fen": sum(r.cash_fen for r in rows),
        "over_fen": sum(max(r.shift.difference_fen, 0) for r in rows),
        "short_fen": sum(min(r.shift.difference_fen, 0) for r in rows),
        "deposit_fen": sum(r.deposit_fen or 0 for r in rows),
    }


def _page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    context = {**_page_context(c, v), **extra}
    return render(request, "shifts.html", context, viewer=v, status=status)


def _refused(request: Request, c: Container, v: Viewer, exc: DomainError) -> Response:
    log.info("refused %s %s for %s: %s", request.method, request.url.path, v.actor.username,
             exc.detail)  # fmt: skip
    status = {"not_found": 404, "forbidden": 403, "validation_failed": 422}.get(exc.code, 409)
    return _page(request, c, v, status=status, error=exc.detail)


@router.get("/shifts")
def shifts_page(
    request: Request,
    unit_id: str = "",
    date_from: str = "",
    date_to: str = "",
    format: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    _allowed(v)
    if format in ("xlsx", "csv"):
        return _export(c, v, format, unit_id, date_from, date_to)
    context = _page_context(c, v, unit_id, date_from, date_to)
    done = request.query_params.get("done", "")
    context["done"] = DONE.get(done, "")
    return render(request, "shifts.html", context, viewer=v)


DONE = {
    "opened": "已开班，可以开始收款。",
    "closed": "已结班。",
    "confirmed": "已确认结班差异，解款单已生成。",
    "credited": "已登记解款到账。",
}


def _export(
    c: Container, v: Viewer, fmt: str, unit_id: str, date_from: str, date_to: str
) -> Response:
    if not v.actor.can(Permission.VIEW_SHIFT_REPORTS):
        raise PageRefused(403, f"您的角色（{v.actor.label}）无权导出班次报表")
    first, last = _period(c, date_from, date_to)
    ids = _report_scope(_units(c, v), unit_id)
    with c.read_uow() as uow:
        rows = shift_report(uow.connection, ids, date_from=first, date_to=last)
    name = f"shifts-{first}-{last}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    title = f"班次报表 {first} 至 {last}"
    if fmt == "xlsx":
        return Response(shift_report_workbook(rows, title), media_type=XLSX, headers=headers)
    data = csv_bytes(HEADER, [report_cells(r) for r in rows])
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/shifts/open")
def open_page(
    request: Request,
    window_id: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    opening_float: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: CSRF = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    try:
        fen = Money.from_yuan(opening_float or "0").fen
    except InvalidAmount:
        error = ValidationFailed("备用金金额格式有误，应为如 500 或 500.00 的金额")
        return _refused(request, c, v, error)
    if not _digits(window_id):
        return _page(request, c, v, status=422, error="请选择收费窗口")
    try:
        open_shift(c.uow(), OpenShift(int(window_id), fen), actor=v.actor, clock=c.clock)
    except DomainError as exc:
        return _refused(request, c, v, exc)
    return RedirectResponse(f"{PATH}/shifts?done=opened", status_code=303)


@router.post("/shifts/{shift_id}/close")
def close_page(
    request: Request,
    shift_id: int,
    form: Annotated[CountForm, Form()],
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, form.csrf)
    try:
        shift = close_shift(
            c.uow(), CloseShift(shift_id, form.pieces(), form.note), actor=v.actor, clock=c.clock
        )
    except DomainError as exc:
        return _refused(request, c, v, exc)
    return RedirectResponse(f"{PATH}/shifts/{shift.id}?done=closed", status_code=303)


def _row(c: Container, v: Viewer, shift_id: int) -> ShiftRow:
    ids = [u.id for u in _units(c, v)]
    with c.read_uow() as uow:
        row = shift_row(uow.connection, ids, shift_id)
    if row is None or (v.actor.role is Role.CASHIER and row.shift.cashier_id != v.actor.user_id):
        raise PageRefused(404, NOT_FOUND)
    return row


def _detail(
    request: Request, c: Container, v: Viewer, shift_id: int, *, status: int = 200, **extra: Any
) -> Response:
    row = _row(c, v, shift_id)
    may_confirm = (
        v.actor.can(Permission.CONFIRM_SHIFTS)
        and row.shift.status is ShiftStatus.AWAITING_CONFIRMATION
        and row.shift.cashier_id != v.actor.user_id
    )
    may_credit = (
        v.actor.can(Permission.CREDIT_DEPOSITS) and row.deposit_status is DepositStatus.IN_TRANSIT
    )
    context = {
        "row": row,
        "s": row.shift,
        "difference_text": difference_text,
        "may_confirm": may_confirm,
        "may_credit": may_credit,
        "today": business_date(c.clock.now()).isoformat(),
        "ShiftStatus": ShiftStatus,
        **extra,
    }
    return render(request, "shift.html", context, viewer=v, status=status)


@router.get("/shifts/{shift_id}")
def shift_page(
    request: Request,
    shift_id: int,
    done: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    _allowed(v)
    return _detail(request, c, v, shift_id, done=DONE.get(done, ""))


@router.post("/shifts/{shift_id}/confirm")
def confirm_page(
    request: Request,
    shift_id: int,
    note: NOTE = "",
    csrf: CSRF = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    try:
        confirm_shift(c.uow(), ConfirmShift(shift_id, note), actor=v.actor, clock=c.clock)
    except DomainError as exc:
        log.info("refused confirming shift %s for %s: %s", shift_id, v.actor.username,
                 exc.detail)  # fmt: skip
        if exc.code == "not_found":
            raise PageRefused(404, NOT_FOUND) from None
        status = {"forbidden": 403, "validation_failed": 422}.get(exc.code, 409)
        return _detail(request, c, v, shift_id, status=status, error=exc.detail)
    return RedirectResponse(f"{PATH}/shifts/{shift_id}?done=confirmed", status_code=303)


@router.get("/shifts/{shift_id}/deposit.pdf")
def deposit_slip_pdf(
    shift_id: int,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    _allowed(v)
    row = _row(c, v, shift_id)
    with c.read_uow() as uow:
        deposit = uow.deposits.of_shift(shift_id) if row.deposit_no else None
    if deposit is None or row.shift.closed_at is None:
        raise PageRefused(404, "该班次没有解款单")
    account = receipt_policy(c.settings).account
    slip = DepositSlip(
        deposit, row.unit_name, row.window_label, row.shift.cashier, row.shift.opened_at,
        row.shift.closed_at, row.shift.opening_float_fen, row.shift.difference_fen,
        account.name, account.number, account.bank,
    )  # fmt: skip
    name = f"deposit-{deposit.deposit_no}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"}
    return Response(render_deposit_slip(slip), media_type="application/pdf", headers=headers)


@router.post("/shifts/{shift_id}/credit")
def credit_page(
    request: Request,
    shift_id: int,
    statement_ref: Annotated[str, Form(max_length=64, pattern=NO_CONTROLS)] = "",
    credited_on: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    amount: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: CSRF = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    if not v.actor.can(Permission.CREDIT_DEPOSITS):
        raise PageRefused(403, f"您的角色（{v.actor.label}）无权登记解款到账")
    row = _row(c, v, shift_id)
    if row.deposit_no is None:
        raise PageRefused(404, "该班次没有解款单")
    try:
        day = date.fromisoformat(credited_on)
        fen = Money.from_yuan(amount).fen
    except (ValueError, InvalidAmount):
        return _detail(request, c, v, shift_id, status=422, error="到账日期或金额格式有误")
    cmd = CreditDeposit(row.deposit_no, fen, statement_ref, day)
    try:
        credit_deposit(c.uow(), cmd, by=v.actor.audit_name, clock=c.clock)
    except DomainError as exc:
        log.info("refused crediting %s for %s: %s", row.deposit_no, v.actor.username, exc.detail)
        status = {"validation_failed": 422}.get(exc.code, 409)
        return _detail(request, c, v, shift_id, status=status, error=exc.detail)
    return RedirectResponse(f"{PATH}/shifts/{shift_id}?done=credited", status_code=303)


# --- the cashier's shift as JSON (the window POS page) ---------------------------------------


class OpenIn(BaseModel):
    window_id: StrictInt = Field(ge=1, le=10**12)
    opening_float_fen: StrictInt = Field(ge=0, le=MAX_FLOAT_FEN)


class CloseIn(BaseModel):
    pieces: dict[str, Annotated[StrictInt, Field(ge=0, le=MAX_PIECES)]] = Field(max_length=20)
    note: str = Field("", max_length=200, pattern=NO_CONTROLS)


CSRF_HEADER = Annotated[str, Header(alias="X-CSRF-Token", max_length=100)]


def _cashier(v: Viewer) -> int:
    if not v.actor.can(Permission.OPERATE_SHIFT) or v.actor.unit_id is None:
        raise PageRefused(403, f"您的角色（{v.actor.label}）无权使用收费班次")
    return v.actor.unit_id


def shift_json(shift: Shift, takings: Takings, deposit: Deposit | None) -> dict[str, Any]:
    closing = shift.closing
    return {
        "id": shift.id,
        "window_id": shift.window_id,
        "cashier": shift.cashier,
        "status": shift.status.value,
        "status_label": SHIFT_STATUS_LABELS[shift.status],
        "opened_at": shift.opened_at.isoformat(),
        "closed_at": shift.closed_at.isoformat() if shift.closed_at else None,
        "opening_float_fen": shift.opening_float_fen,
        "takings": [
            {"kind": t.kind.value, "label": t.label, "count": t.count, "amount_fen": t.amount_fen}
            for t in takings.lines
        ],
        "expected_cash_fen": shift.opening_float_fen + takings.cash_fen,
        "counted_fen": closing.counted_fen if closing else None,
        "difference_fen": shift.difference_fen if closing else None,
        "difference_label": difference_text(shift.difference_fen) if closing else None,
        "deposit": None
        if deposit is None
        else {
            "deposit_no": deposit.deposit_no,
            "amount_fen": deposit.amount_fen,
            "status": deposit.status.value,
            "slip_url": f"{PATH}/shifts/{shift.id}/deposit.pdf",
        },
    }


@router.get("/api/shift")
def current_json(v: Viewer = Depends(viewer), c: Container = Depends(container)) -> Any:
    """The cashier's open shift (null when none), the windows of their unit, the denominations
    of the count, and the CSRF token the writes carry."""
    unit_id = _cashier(v)
    view = current_shift(c.uow(), v.actor)
    with c.read_uow() as uow:
        windows = cashier_windows(uow.connection, unit_id)
    return {
        "shift": shift_json(view.shift, view.takings, None) if view else None,
        "windows": [{"id": w.id, "label": w.label, "busy_by": w.busy_by} for w in windows],
        "denominations": [{"value_fen": fen, "label": label} for fen, label in DENOMINATIONS],
        "csrf": v.csrf,
    }


@router.post("/api/shift", status_code=201)
def open_json(
    body: OpenIn,
    csrf: CSRF_HEADER = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Any:
    _cashier(v)
    check_csrf(v.csrf, csrf)
    cmd = OpenShift(body.window_id, body.opening_float_fen)
    shift = open_shift(c.uow(), cmd, actor=v.actor, clock=c.clock)
    return shift_json(shift, Takings.of([]), None)


@router.post("/api/shift/{shift_id}/close")
def close_json(
    shift_id: int,
    body: CloseIn,
    csrf: CSRF_HEADER = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Any:
    _cashier(v)
    check_csrf(v.csrf, csrf)
    if not all(_digits(key) for key in body.pieces):
        raise ValidationFailed("券别应为以分计的面额，如 10000 表示100元", errors={"pieces": ""})
    pieces = {int(key): n for key, n in body.pieces.items()}
    close_shift(c.uow(), CloseShift(shift_id, pieces, body.note), actor=v.actor, clock=c.clock)
    view = shift_view(c.uow(), shift_id, v.actor)
    return shift_json(view.shift, view.takings, view.deposit)
