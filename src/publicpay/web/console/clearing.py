"""清算 (clearing) screens: the windows, running a reconciled day's clearing, one window with its
netting (payments, refunds, channel fees, what the channels paid in, the refunds the
collection account paid by bank transfer, what goes out), its split
by level and its lines, the 5408 voucher download and the treasury's receipt."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from publicpay.adapters.db.reconciliation.tables import clearing_windows
from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.clearing import SPECIAL, WindowStatus, level_key
from publicpay.domain.errors import DomainError
from publicpay.domain.time import SHANGHAI
from publicpay.services.reconciliation.clearing import run_clearing
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    form_status,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=f"{PATH}/clearing", include_in_schema=False)
LEVEL_LABELS = {**{level.value: level.label for level in BudgetLevel}, SPECIAL: "财政专户"}
STATUS_LABELS = {s.value: s.label for s in WindowStatus}


def _hold_level(hold: Any) -> str:
    """A held refund part's level as the window's levels are labelled (a `clearing_holds` row)."""
    return LEVEL_LABELS[level_key(BudgetLevel(hold.level), Destination(hold.destination))]


def _account(c: Container) -> str:
    return c.settings.collection_account_number or "collection"


def _list_context(c: Container) -> dict[str, Any]:
    with c.read_uow() as uow:
        rows = list(
            uow.connection.execute(
                select(clearing_windows).order_by(clearing_windows.c.business_day.desc()).limit(60)
            )
        )
        waiting = uow.clearing.holds_to_take()
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    return {
        "windows": rows,
        "waiting": waiting,
        "levels": LEVEL_LABELS,
        "hold_level": _hold_level,
        "labels": STATUS_LABELS,
        "default_day": yesterday.isoformat(),
        "error": "",
    }


@router.get("")
def windows_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    return render(request, "clearing.html", _list_context(c), viewer=v)


@router.post("/run")
def run(
    request: Request,
    day: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.RUN_CLEARING)
    check_csrf(v.csrf, csrf)
    try:
        on = date.fromisoformat(day)
    except ValueError:
        context = _list_context(c)
        context["error"] = "请填写清算日期（YYYY-MM-DD）"
        return render(request, "clearing.html", context, viewer=v, status=422)
    try:
        window = run_clearing(
            c.uow,
            c.treasury(),
            on,
            _account(c),
            clock=c.clock,
            actor=v.actor.audit_name,
            splitter=ColumnarSplitter(),
        )
    except DomainError as exc:
        context = _list_context(c)
        context["error"] = exc.detail
        return render(request, "clearing.html", context, viewer=v, status=form_status(exc))
    return RedirectResponse(f"{router.prefix}/{window.id}?done=run", status_code=303)


@router.get("/{window_id}")
def window_page(
    request: Request,
    window_id: int,
    done: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    with c.read_uow() as uow:
        window = uow.clearing.window_by_id(window_id)
        if window is None:
            raise PageRefused(404, "清算窗口不存在")
        lines = uow.clearing.lines(window_id)
        netted = uow.clearing.netted(window_id)
        holds = uow.clearing.holds(window_id)
        row = uow.connection.execute(
            select(clearing_windows.c.receipt).where(clearing_windows.c.id == window_id)
        ).first()
    context = {
        "w": window,
        "lines": lines,
        "netted": netted,
        "held": [h for h in holds if h.window_id == window_id],
        "carried": [h for h in holds if h.taken_by == window_id],
        "levels": LEVEL_LABELS,
        "hold_level": _hold_level,
        "labels": STATUS_LABELS,
        "receipt": row.receipt if row else None,
        "done": done[:10],
    }
    return render(request, "clearing_window.html", context, viewer=v)


@router.get("/{window_id}/voucher.xml")
def voucher(
    window_id: int, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    with c.read_uow() as uow:
        xml = uow.clearing.voucher(window_id)
    if not xml:
        raise PageRefused(404, "该清算窗口尚未生成缴库凭证")
    return Response(
        xml.encode("utf-8"),
        media_type="application/xml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="voucher-5408-{window_id}.xml"'},
    )
