"""审计日志 (audit log viewer) for auditors, issue 10: filter by user, action, object and date;
each row shows who, what, when, from which address, and the state before and after; the
"校验哈希链" button checks the whole chain and names the first broken row (like
`publicpay audit verify`). Reading is scoped in the query (`queries.audit`); the verification
itself is audited.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from publicpay.adapters.db.queries.audit import (
    PAGE_SIZE,
    AuditFilter,
    action_names,
    audit_page,
)
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    Viewer,
    check_csrf,
    container,
    render,
    require,
    source,
    templates,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
templates.env.filters["json_zh"] = lambda value: json.dumps(value, ensure_ascii=False)
Filter = Annotated[str, Query(max_length=60, pattern=NO_CONTROLS)]
SHOWN = ("from", "before", "after")  # detail keys with their own column


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _page(
    request: Request, c: Container, v: Viewer, f: AuditFilter, raw: dict[str, str], **extra: Any
) -> Response:
    whole = v.actor.sees_region(c.settings.region_code)
    with c.read_uow() as uow:
        rows, total = audit_page(uow.connection, v.actor, f, whole_log=whole)
        actions = action_names(uow.connection)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "rows": rows,
        "total": total,
        "page": f.page,
        "pages": pages,
        "actions": actions,
        "filters": raw,
        "shown": SHOWN,
        "whole": whole,
        **extra,
    }
    return render(request, "audit.html", context, viewer=v)


@router.get("/audit")
def audit_log_page(
    request: Request,
    user: Filter = "",
    action: Filter = "",
    target: Filter = "",
    day_from: Annotated[str, Query(max_length=10, pattern=NO_CONTROLS)] = "",
    day_to: Annotated[str, Query(max_length=10, pattern=NO_CONTROLS)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_AUDIT)
    raw = {"user": user, "action": action, "target": target, "day_from": day_from,
           "day_to": day_to}  # fmt: skip
    f = AuditFilter(user.strip(), action.strip(), target.strip(), _day(day_from), _day(day_to),
                    page)  # fmt: skip
    return _page(request, c, v, f, raw)


@router.post("/audit/verify")
def verify_chain(
    request: Request,
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_AUDIT)
    check_csrf(v.csrf, csrf)
    with c.read_uow() as uow:
        report = uow.audit.verify_report()
    with c.uow() as uow:
        detail = {"from": source(request), "after": report.as_json()}
        uow.audit.append(v.actor.audit_name, "audit.chain_verified", "audit_log", detail,
                         c.clock.now())  # fmt: skip
        uow.commit()
    return _page(request, c, v, AuditFilter(), {}, report=report)
