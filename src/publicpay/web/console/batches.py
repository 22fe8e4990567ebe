"""批量登记 (P5): upload a CSV or Excel file of payables for a unit in scope, preview every row
(a dry run whose rows are kept, sealed, for confirmation), confirm to register, download the
per-row report and the template.

A unit admin works for its own unit; a finance admin for any unit of its region and below. The
scope is checked here on every request, before any service call: a batch of a unit out of scope
is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries.payables import load_batch, recent_batches
from publicpay.adapters.db.queries.units import UnitRow, visible_units
from publicpay.adapters.payables.batch_files.reading import (
    MAX_FILE_BYTES,
    XLSX,
    file_kind,
    read_rows,
)
from publicpay.adapters.payables.batch_files.report_xlsx import report_workbook
from publicpay.adapters.payables.batch_files.template import template_csv, template_xlsx
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.errors import DomainError, NotFound, ValidationFailed
from publicpay.domain.payable_batches import (
    BATCH_STATUS_LABELS,
    MAX_ROWS,
    BatchRecord,
    BatchStatus,
    RowStatus,
    reasons_text,
    row_label,
)
from publicpay.services.payables.batches import SubmitBatch, confirm_preview, submit_batch
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

# bounded like the database's integers (a larger id would fail there, not here)
BatchId = Annotated[int, Path(ge=1, le=2**63 - 1)]
router = APIRouter(prefix=PATH, include_in_schema=False)
HERE = f"{PATH}/payable-batches"
OUT_OF_SCOPE = "该批次不存在或不在您的管辖范围内"
SHOWN_ROWS = 1000  # on the page; the Excel report has them all
HISTORY = 30


def _units(c: Container, v: Viewer) -> list[UnitRow]:
    require(v, Permission.REGISTER_BATCHES)
    with c.read_uow() as uow:
        return visible_units(uow.connection, v.actor)


def _upload_context(c: Container, v: Viewer, **extra: Any) -> dict[str, Any]:
    units = _units(c, v)
    with c.read_uow() as uow:
        history = recent_batches(uow.connection, [u.id for u in units], HISTORY)
    return {
        "units": units,
        "unit_names": {u.id: u.name for u in units},
        "history": history,
        "labels": BATCH_STATUS_LABELS,
        "unit_id": str(units[0].id) if len(units) == 1 else "",
        "max_rows": MAX_ROWS,
        "max_mb": MAX_FILE_BYTES // 1_000_000,
        "error": "",
        **extra,
    }


@router.get("/payable-batches")
def batches_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    return render(request, "payable_batches.html", _upload_context(c, v), viewer=v)


@router.post("/payable-batches")
def upload(
    request: Request,
    unit_id: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    units = _units(c, v)
    check_csrf(v.csrf, csrf)
    unit = next((u for u in units if _digits(unit_id) and u.id == int(unit_id)), None)
    if unit is None:
        raise PageRefused(404, "该单位不存在或不在您的管辖范围内")
    data = file.file.read(MAX_FILE_BYTES + 1) if file is not None else b""
    name = (file.filename or "")[:200] if file is not None else ""
    try:
        record = _preview(c, v, unit.id, data, name)
    except DomainError as exc:
        context = _upload_context(c, v, error=exc.detail, unit_id=unit_id)
        return render(request, "payable_batches.html", context, viewer=v, status=422)
    return RedirectResponse(f"{HERE}/{record.id}", status_code=303)


def _preview(c: Container, v: Viewer, unit_id: int, data: bytes, name: str) -> BatchRecord:
    if not data:
        raise ValidationFailed("请选择要上传的 Excel（.xlsx）或 CSV 文件")
    kind = file_kind(data, name)
    cmd = SubmitBatch(
        unit_id=unit_id,
        rows=read_rows(data, kind),
        source=kind,
        file_name=name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        actor=v.actor.audit_name,
        dry_run=True,
        keep_rows=True,
    )
    return submit_batch(
        c.batch_uow(), cmd, region_code=c.settings.region_code, clock=c.clock,
        serial_floor=c.serial_floor(),
    )  # fmt: skip


@router.get("/payable-batches/template.csv")
def template_csv_file(v: Viewer = Depends(viewer)) -> Response:
    require(v, Permission.REGISTER_BATCHES)
    return _download(template_csv(), "text/csv; charset=utf-8", "payable-batch-template.csv")


@router.get("/payable-batches/template.xlsx")
def template_xlsx_file(v: Viewer = Depends(viewer)) -> Response:
    require(v, Permission.REGISTER_BATCHES)
    return _download(template_xlsx(), XLSX, "payable-batch-template.xlsx")


def _batch(c: Container, v: Viewer, batch_id: int) -> tuple[BatchRecord, UnitRow]:
    units = {u.id: u for u in _units(c, v)}
    with c.read_uow() as uow:
        record = load_batch(uow.connection, batch_id)
    if record is None or record.unit_id not in units:
        raise PageRefused(404, OUT_OF_SCOPE)
    return record, units[record.unit_id]


@router.get("/payable-batches/{batch_id}")
def batch_page(
    request: Request,
    batch_id: BatchId,
    only_refused: bool = False,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    record, unit = _batch(c, v, batch_id)
    report = record.report
    rows = report.refused_rows if only_refused else list(report.rows)
    context = {
        "b": record,
        "r": report,
        "unit": unit,
        "status_label": BATCH_STATUS_LABELS[report.status],
        "accepted": report.count(RowStatus.ACCEPTED),
        "existing": report.count(RowStatus.EXISTING),
        "refused": report.count(RowStatus.REFUSED),
        "rows": [_row_view(report.status, r) for r in rows[:SHOWN_ROWS]],
        "more": max(0, len(rows) - SHOWN_ROWS),
        "only_refused": only_refused,
        "can_confirm": record.confirmable and report.status is BatchStatus.DRY_RUN,
    }
    return render(request, "payable_batch.html", context, viewer=v)


def _row_view(status: BatchStatus, row: Any) -> dict[str, Any]:
    return {"r": row, "label": row_label(status, row.status), "reasons": reasons_text(row.errors)}


@router.post("/payable-batches/{batch_id}/confirm")
def confirm(
    batch_id: BatchId,
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    accept_partial: Annotated[str, Form(max_length=5, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    record, unit = _batch(c, v, batch_id)
    check_csrf(v.csrf, csrf)
    try:
        done = confirm_preview(
            c.batch_uow(), record.id, unit_id=unit.id, actor=v.actor.audit_name,
            accept_partial=accept_partial == "1", region_code=c.settings.region_code,
            serial_floor=c.serial_floor(),
            clock=c.clock,
        )  # fmt: skip
    except DomainError as exc:
        raise PageRefused(404 if isinstance(exc, NotFound) else 409, exc.detail) from exc
    return RedirectResponse(f"{HERE}/{done.id}", status_code=303)


@router.get("/payable-batches/{batch_id}/report.xlsx")
def report_file(
    batch_id: BatchId, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    record, unit = _batch(c, v, batch_id)
    return _download(report_workbook(record, unit.name), XLSX, f"payable-batch-{batch_id}.xlsx")


def _download(data: bytes, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(data, media_type=media_type, headers=headers)
