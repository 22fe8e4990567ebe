"""对账 (reconciliation) workbench: each channel's business days as green/red boxes, a day's
lines with what each matched, its exceptions, and one exception's workflow (assign, resolve
with a reason and an action, a second person's review); a statement upload and a re-run; the
daily exception report (also as CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries.reconciliation import (
    day_boxes,
    day_lines,
    exception_by_id,
    exceptions,
)
from publicpay.adapters.reconciliation.engine import PolarsEngine
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.money import Money
from publicpay.domain.reconciliation import (
    ACTION_LABELS,
    ACTIONS,
    CLASS_LABELS,
    SOURCE_LABELS,
    UNRESOLVED,
    Action,
    DayStatus,
    ExceptionStatus,
    MatchClass,
    Source,
)
from publicpay.domain.time import SHANGHAI
from publicpay.services.payments.card import recover_card_order
from publicpay.services.reconciliation.exceptions import (
    assign_exception,
    resolve_exception,
    review_exception,
)
from publicpay.services.reconciliation.reconcile import import_statement, reconcile_day
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    Csrf,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    form_status,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=f"{PATH}/reconciliation", include_in_schema=False)
DAYS_SHOWN = 7
MAX_UPLOAD = 20 * 1024 * 1024
Text = Annotated[str, Form(max_length=500, pattern=NO_CONTROLS)]
DAY_LABELS = {s.value: s.label for s in DayStatus}
ACCOUNT_LABELS = {
    "collection": "汇缴户",
    "suspense": "待处理",
    "write_off_income": "核销收益（其他收入）",
    "write_off_loss": "核销损失",
}


def _today() -> date:
    return datetime.now(SHANGHAI).date()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PageRefused(404, "日期格式应为 YYYY-MM-DD") from None


def _source(text: str) -> Source:
    try:
        return Source(text)
    except ValueError:
        raise PageRefused(404, "没有这个对账来源") from None


def _common() -> dict[str, Any]:
    return {
        "sources": SOURCE_LABELS,
        "class_labels": {c.value: label for c, label in CLASS_LABELS.items()},
        "action_labels": {a.value: label for a, label in ACTION_LABELS.items()},
        "day_labels": DAY_LABELS,
    }


@router.get("")
def overview(
    request: Request,
    end: Annotated[str, Query(max_length=10, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    last = _day(end) if end else _today() - timedelta(days=0)
    days = [last - timedelta(days=i) for i in range(DAYS_SHOWN)]
    today = _today()
    with c.read_uow() as uow:
        boxes = day_boxes(uow.connection, days)
        open_items = exceptions(uow.connection, today, statuses=tuple(s.value for s in UNRESOLVED))
    context = {
        **_common(),
        "days": days,
        "boxes": boxes,
        "open_items": open_items,
        "previous": (last - timedelta(days=DAYS_SHOWN)).isoformat(),
        "next": (last + timedelta(days=DAYS_SHOWN)).isoformat() if last < today else "",
    }
    return render(request, "reconciliation.html", context, viewer=v)


def _exception_context(c: Container, exception_id: int) -> dict[str, Any]:
    with c.read_uow() as uow:
        item = exception_by_id(uow.connection, exception_id, _today())
    if item is None:
        raise PageRefused(404, "差错不存在")
    allowed = ACTIONS.get(MatchClass(item.match_class), frozenset())
    return {
        **_common(),
        "item": item,
        "account_labels": ACCOUNT_LABELS,
        "write_off_limit_fen": c.settings.write_off_limit_fen,
        "actions": [a for a in Action if a in allowed],
        "error": "",
        "done": "",
    }


@router.get("/exceptions/{exception_id}")
def exception_page(
    request: Request,
    exception_id: int,
    done: Annotated[str, Query(max_length=20)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    context = _exception_context(c, exception_id)
    context["done"] = done
    return render(request, "recon_exception.html", context, viewer=v)


@router.post("/exceptions/{exception_id}/{step}")
def exception_step(
    request: Request,
    exception_id: int,
    step: str,
    action: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    reason: Text = "",
    assignee: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    decision: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    me = v.actor.audit_name
    try:
        if step == "assign":
            require(v, Permission.RESOLVE_EXCEPTIONS)
            assign_exception(c.uow(), exception_id, assignee, actor=me, clock=c.clock)
        elif step == "resolve":
            require(v, Permission.RESOLVE_EXCEPTIONS)
            chosen = _action(action)
            resolve_exception(
                c.uow, c.gateways, exception_id, chosen, reason, actor=me, clock=c.clock,
                write_off_limit_fen=c.settings.write_off_limit_fen,
                card=partial(recover_card_order, c.uow, c.card_host, clock=c.clock),
            )  # fmt: skip
        elif step == "review":
            require(v, Permission.REVIEW_EXCEPTIONS)
            approved = decision == "approve"
            review_exception(c.uow(), exception_id, approved, actor=me, clock=c.clock)
        else:
            raise PageRefused(404, "请求的地址不存在")
    except DomainError as exc:
        context = _exception_context(c, exception_id)
        context["error"] = exc.detail
        context["form"] = {"action": action, "reason": reason}
        return render(request, "recon_exception.html", context, viewer=v, status=form_status(exc))
    return RedirectResponse(f"{router.prefix}/exceptions/{exception_id}?done={step}", 303)


def _action(text: str) -> Action:
    try:
        return Action(text)
    except ValueError:
        raise ValidationFailed("请选择处理方式", errors={"action": "请选择处理方式"}) from None


@router.get("/report/{day}")
def daily_report(
    request: Request,
    day: str,
    format: Annotated[str, Query(max_length=5)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    """The day's exception report: every exception of the day, and every one still open."""
    require(v, Permission.VIEW_RECONCILIATION)
    on, today = _day(day), _today()
    with c.read_uow() as uow:
        of_day = exceptions(uow.connection, today, day=on)
        still_open = [
            e
            for e in exceptions(uow.connection, today, statuses=tuple(s.value for s in UNRESOLVED))
            if e.business_day < on
        ]
        boxes = day_boxes(uow.connection, [on])
    if format == "csv":
        return _csv(on, of_day + still_open)
    context = {**_common(), "day": on, "of_day": of_day, "still_open": still_open, "boxes": boxes}
    return render(request, "recon_report.html", context, viewer=v)


REPORT_HEADER = [
    "编号",
    "对账日",
    "来源",
    "差错类型",
    "单号",
    "金额（元）",
    "状态",
    "账龄（天）",
    "经办人",
    "处理方式",
    "原因",
    "处理人",
    "复核人",
]


def _csv(day: date, rows: list[Any]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for e in rows:
        writer.writerow([
            e.id, e.business_day.isoformat(), SOURCE_LABELS[Source(e.source)], e.class_label,
            e.key, Money(e.amount_fen).to_yuan(),
            ExceptionStatus(e.status).label, e.age_days, e.assignee or "",
            ACTION_LABELS[Action(e.action)] if e.action else "", e.reason or "",
            e.resolved_by or "", e.reviewed_by or "",
        ])  # fmt: skip
    name = f"reconciliation-exceptions-{day.isoformat()}.csv"
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- one source's day (declared last: its path parameters would match the paths above) ---


def _day_context(c: Container, source: Source, day: date) -> dict[str, Any]:
    with c.read_uow() as uow:
        statement, lines = day_lines(uow.connection, source.value, day)
        items = exceptions(uow.connection, _today(), source=source.value, day=day)
        record = uow.reconciliation.day(source, day)
    return {
        **_common(),
        "source": source,
        "day": day,
        "statement": statement,
        "lines": lines,
        "items": items,
        "record": record,
        "matched_now": sum(1 for line in lines if line.match_class == MatchClass.MATCHED.value),
        "settled_now": sum(
            1 for line in lines if line.match_class == MatchClass.MATCHED.value or line.resolution
        ),
        "error": "",
        "done": "",
    }


@router.get("/{source}/{day}")
def day_page(
    request: Request,
    source: str,
    day: str,
    done: Annotated[str, Query(max_length=20)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_RECONCILIATION)
    context = _day_context(c, _source(source), _day(day))
    context["done"] = done
    return render(request, "recon_day.html", context, viewer=v)


@router.post("/{source}/{day}/run")
def run_day(
    request: Request,
    source: str,
    day: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.RUN_RECONCILIATION)
    check_csrf(v.csrf, csrf)
    src, on = _source(source), _day(day)
    try:
        reconcile_day(
            c.uow, PolarsEngine(), c.statement_sources(), src, on,
            clock=c.clock, actor=v.actor.audit_name,
        )  # fmt: skip
    except DomainError as exc:
        context = _day_context(c, src, on)
        context["error"] = exc.detail
        return render(request, "recon_day.html", context, viewer=v, status=form_status(exc))
    return RedirectResponse(f"{router.prefix}/{src.value}/{on}?done=run", status_code=303)


@router.post("/{source}/{day}/upload")
async def upload(
    request: Request,
    source: str,
    day: str,
    file: Annotated[UploadFile, File()],
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.RUN_RECONCILIATION)
    check_csrf(v.csrf, csrf)
    src, on = _source(source), _day(day)
    content = await file.read(MAX_UPLOAD + 1)
    try:
        if len(content) > MAX_UPLOAD:
            raise PageRefused(413, "对账单文件过大")
        import_statement(
            c.uow, PolarsEngine(), c.statement_sources(), src, on, content,
            clock=c.clock, actor=v.actor.audit_name,
        )  # fmt: skip
    except DomainError as exc:
        context = _day_context(c, src, on)
        context["error"] = f"对账单未导入：{exc.detail}"
        return render(request, "recon_day.html", context, viewer=v, status=form_status(exc))
    return RedirectResponse(f"{router.prefix}/{src.value}/{on}?done=upload", status_code=303)
