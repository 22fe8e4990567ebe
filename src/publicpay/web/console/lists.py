"""The console's lists — 缴款单 (payables), 支付订单 (orders), 电子票据 (receipts), 业务事件
(events), 推送记录 (webhook deliveries) — paginated, filtered and sorted by the database, each
row opening its detail; and their exports (`?format=csv` or `?format=xlsx`): every row, streamed
with flat memory, or over `BACKGROUND_ROWS` rows a background export job.

Everything read here is filtered by the viewer's scope in the statement itself
(`queries.scope`); a detail out of scope answers 404 like one that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from publicpay.adapters.db.queries import lists
from publicpay.adapters.db.queries.details import event_detail, payable_detail
from publicpay.adapters.db.queries.lists import Kind, ListQuery, ListSpec
from publicpay.adapters.db.queries.units import visible_units
from publicpay.adapters.exports import list_export
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.codes import mask_phone
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.reconciliation import CLASS_LABELS, RESOLUTION_LABELS, SOURCE_LABELS
from publicpay.domain.statistics import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    DELIVERY_LABELS,
    JOURNAL_LABELS,
    ORDER_STATUS_LABELS,
)
from publicpay.web.console.exports import download, export_format
from publicpay.web.console.pages import (
    PATH,
    PageRefused,
    Viewer,
    container,
    render,
    require,
    templates,
)
from publicpay.web.console.pages import viewer as current_viewer

router = APIRouter(prefix=PATH, include_in_schema=False)
log = logging.getLogger("publicpay.web.console")
NOT_FOUND = "该记录不存在或不在您的管辖范围内"


def hasher(c: Container) -> lists.Hasher:
    return c.box.lookup_hash


def query_of(spec: ListSpec, request: Request) -> ListQuery:
    try:
        return lists.parse_query(spec, dict(request.query_params))
    except ValidationFailed as exc:
        log.info("refused list query on %s: %s", spec.name, exc.errors)
        raise PageRefused(422, f"查询条件有误：{exc.detail}") from exc


def list_page(spec: ListSpec) -> Callable[..., Response]:
    def page(
        request: Request, v: Viewer = Depends(current_viewer), c: Container = Depends(container)
    ) -> Response:
        require(v, Permission.VIEW_LISTS)
        query = query_of(spec, request)
        fmt = export_format(request)
        if fmt is not None:
            with c.read_uow() as uow:
                total = lists.count(uow.connection, spec, v.actor, query, hasher(c))
            export = list_export(spec, v.actor, query, hasher(c), fmt)
            return download(c, v, request, f"list:{spec.name}", export, fmt, total)
        with c.read_uow() as uow:
            found = lists.page(uow.connection, spec, v.actor, query, hasher(c))
            units = visible_units(uow.connection, v.actor)
        context = {
            "spec": spec,
            "found": found,
            "rows": [dict(r._mapping) for r in found.rows],
            "units": units,
            "params": {
                k: value for k, value in request.query_params.items() if k not in ("page", "format")
            },
            "Kind": Kind,
        }
        return render(request, "list.html", context, viewer=v)

    page.__name__ = f"{spec.name}_list"
    return page


for _spec in lists.LISTS.values():
    router.add_api_route(f"/{_spec.name}", list_page(_spec), methods=["GET"])


@router.get("/payables/{payment_code}")
def payable_page(
    request: Request,
    payment_code: str,
    v: Viewer = Depends(current_viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_LISTS)
    if len(payment_code) > 20:
        raise PageRefused(404, NOT_FOUND)
    with c.read_uow() as uow:
        detail = payable_detail(uow.connection, v.actor, payment_code)
    if detail is None:
        raise PageRefused(404, NOT_FOUND)
    phone = detail.payable.payer_phone_enc
    context = {
        "d": detail,
        "phone": mask_phone(c.box.open_text(phone, b"phone")) if phone else "",
        "channels": {str(k): v2 for k, v2 in CHANNEL_LABELS.items()},
        "order_statuses": {str(k): v2 for k, v2 in ORDER_STATUS_LABELS.items()},
        "status_label": lists.PAYABLES.fields[6].text,
        "recon_sources": {s.value: label for s, label in SOURCE_LABELS.items()},
        "recon_classes": {k.value: label for k, label in CLASS_LABELS.items()},
        "recon_resolutions": {k.value: label for k, label in RESOLUTION_LABELS.items()},
    }
    return render(request, "payable_detail.html", context, viewer=v)


@router.get("/events/{event_id}")
def event_page(
    request: Request,
    event_id: str,
    v: Viewer = Depends(current_viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_LISTS)
    if len(event_id) > 40:
        raise PageRefused(404, NOT_FOUND)
    with c.read_uow() as uow:
        detail = event_detail(uow.connection, v.actor, event_id)
    if detail is None:
        raise PageRefused(404, NOT_FOUND)
    return render(request, "event_detail.html", {"d": detail}, viewer=v)


def list_url(name: str, params: dict[str, str], **changes: object) -> str:
    """The list's URL with its current query and `changes` (None drops a parameter)."""
    merged: dict[str, object] = {**params}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return f"{PATH}/{name}" + (f"?{urlencode(merged)}" if merged else "")


templates.env.globals.update(
    list_url=list_url,
    action_labels=ACTION_LABELS,
    journal_labels={str(k): v for k, v in JOURNAL_LABELS.items()},
    delivery_labels={str(k): v for k, v in DELIVERY_LABELS.items()},
)
