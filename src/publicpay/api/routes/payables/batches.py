"""Unit API: batch registration of payables (P5) from a CSV or Excel file, or a JSON list.

The file is the raw request body (Content-Type `text/csv` or the .xlsx type), signed like any
unit call over its exact bytes; `application/json` takes `{"rows": [...]}` instead. `dry_run=true`
only reports; `accept_partial=true` registers the valid payables of a batch with refused rows.
Answers: 201 registered (200 when every row was registered before), 200 dry run, 422
problem+json with the per-row errors and the stored report when the batch was refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from publicpay.adapters.db.queries.payables import load_batch
from publicpay.adapters.payables.batch_files.reading import MAX_FILE_BYTES, XLSX, read_rows
from publicpay.adapters.payables.batch_files.report_xlsx import report_workbook
from publicpay.api.auth import unit_client, verify_request
from publicpay.api.deps import container
from publicpay.api.openapi_contract import SIGNED
from publicpay.api.params import BIGINT_MAX
from publicpay.api.schemas import NO_CONTROLS, BatchIn, BatchOut, BatchRowOut
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound
from publicpay.domain.payable_batches import (
    BATCH_STATUS_LABELS,
    BatchRecord,
    BatchRow,
    BatchStatus,
    RowStatus,
    row_label,
)
from publicpay.domain.payables import PayerType
from publicpay.domain.units import ApiClient
from publicpay.services.payables.batches import SubmitBatch, submit_batch

router = APIRouter(prefix="/api/v1", tags=["payable batches (unit API)"])
TOO_LARGE = f"文件超过 {MAX_FILE_BYTES // 1_000_000} MB，请拆分后分批上传"
CONTENT_TYPES = "text/csv、application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its definitions inlined (a request body of a route that
    reads the raw body, so FastAPI does not list the model among the components)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(value) for value in node] if isinstance(node, list) else node

    return dict(resolve(schema))


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "文件原样作为请求体（签名按请求体原始字节计算），或 JSON 数据行",
        "content": {
            "text/csv": {"schema": {"type": "string", "description": "CSV（UTF-8 或 GBK）"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": _inline_schema(BatchIn)},
        },
    }
}


async def batch_body(request: Request) -> bytes:
    """The raw body, up to the batch file limit (larger than the general body limit)."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise HTTPException(413, TOO_LARGE)
    body = await request.body()
    if len(body) > MAX_FILE_BYTES:
        raise HTTPException(413, TOO_LARGE)
    return body


@router.post(
    "/payable-batches",
    response_model=BatchOut,
    status_code=201,
    summary="批量登记应缴款（CSV、Excel 文件或 JSON 数据行）；可预览、可部分登记",
    openapi_extra=_REQUEST_BODY | SIGNED,
    responses={
        200: {"description": "预览，或全部行此前已登记"},
        422: {"description": "整批未登记"},
    },
)
def submit(
    request: Request,
    dry_run: bool = Query(False, description="true：只校验并返回逐行结果，不登记"),
    accept_partial: bool = Query(False, description="true：有错误的行不登记，其余照常登记"),
    file_name: str = Query(
        "", max_length=200, pattern=NO_CONTROLS, description="来源文件名（仅作记录）"
    ),
    raw: bytes = Depends(batch_body),
    c: Container = Depends(container),
) -> Response:
    client = unit_client(verify_request(request, raw, c))
    assert client.unit_id is not None
    try:
        rows, source, name = _rows(request, raw, file_name)
        cmd = SubmitBatch(
            unit_id=client.unit_id,
            rows=rows,
            source=source,
            file_name=name,
            file_sha256=hashlib.sha256(raw).hexdigest(),
            actor=f"unit:{client.unit_id}",
            dry_run=dry_run,
            accept_partial=accept_partial,
        )
        uow = c.batch_uow()
        record = submit_batch(
            uow,
            cmd,
            region_code=c.settings.region_code,
            clock=c.clock,
            serial_floor=c.serial_floor(),
        )
    finally:
        c.claim_pending_nonce()  # a file refused before the batch's transaction: claimed now
    return _answer(c, record)


@router.get("/payable-batches/{batch_id}", response_model=BatchOut, summary="批次及逐行结果")
def get_batch(
    batch_id: int = Path(ge=1, le=BIGINT_MAX, description="批次编号"),
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> BatchOut:
    return batch_out(c, _own_batch(c, client, batch_id))


@router.get(
    "/payable-batches/{batch_id}/report.xlsx",
    summary="逐行结果（Excel）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "Excel 工作簿"}},
)
def get_report_xlsx(
    batch_id: int = Path(ge=1, le=BIGINT_MAX, description="批次编号"),
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> Response:
    record = _own_batch(c, client, batch_id)
    with c.read_uow() as uow:
        unit = uow.units.get(record.unit_id)
    workbook = report_workbook(record, unit.name if unit else "")
    headers = {"Content-Disposition": f'attachment; filename="payable-batch-{batch_id}.xlsx"'}
    return Response(workbook, media_type=XLSX, headers=headers)


def _own_batch(c: Container, client: ApiClient, batch_id: int) -> BatchRecord:
    with c.read_uow() as uow:
        record = load_batch(uow.connection, batch_id)
    if record is None or record.unit_id != client.unit_id:
        raise NotFound(f"批次 {batch_id} 不存在")
    return record


def _rows(request: Request, raw: bytes, file_name: str) -> tuple[tuple[BatchRow, ...], str, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        body = _json_rows(raw)
        rows = tuple(_json_row(i, r.model_dump()) for i, r in enumerate(body.rows, 1))
        return rows, "json", file_name or body.file_name
    if media in ("text/csv", "application/csv"):
        return read_rows(raw, "csv"), "csv", file_name
    if media == XLSX:
        return read_rows(raw, "xlsx"), "xlsx", file_name
    raise HTTPException(415, f"Content-Type 应为 {CONTENT_TYPES} 或 application/json")


def _json_rows(raw: bytes) -> BatchIn:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        error = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([error]) from exc
    try:
        return BatchIn.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def _json_row(number: int, data: dict[str, Any]) -> BatchRow:
    kind = data["payer_type"]
    return BatchRow(
        row=number,
        biz_no=data["biz_no"].strip(),
        payer_name=data["payer_name"].strip(),
        payer_type=PayerType(kind) if kind else None,
        id_no=data["id_no"].strip(),
        phone=(data["phone"] or "").strip() or None,
        item_code=data["item_code"].strip(),
        quantity=data["quantity"],
        amount_fen=data["amount_fen"],
        due_date=data["due_date"],
        remark=data["remark"].strip(),
    )


def batch_out(c: Container, record: BatchRecord) -> BatchOut:
    report = record.report
    base = c.settings.public_base_url.rstrip("/")
    return BatchOut(
        id=record.id,
        status=report.status.value,
        status_label=BATCH_STATUS_LABELS[report.status],
        source=record.source,
        file_name=record.file_name,
        file_sha256=record.file_sha256,
        accept_partial=record.accept_partial,
        created_at=record.created_at.isoformat(),
        row_count=len(report.rows),
        payable_count=report.payable_count,
        accepted_count=report.count(RowStatus.ACCEPTED),
        existing_count=report.count(RowStatus.EXISTING),
        refused_count=report.count(RowStatus.REFUSED),
        created_count=report.created_count,
        amount_fen=report.amount_fen,
        report_xlsx_url=f"{base}/api/v1/payable-batches/{record.id}/report.xlsx",
        rows=[
            BatchRowOut(**r.to_json(), status_label=row_label(report.status, r.status))
            for r in report.rows
        ],
    )


def _answer(c: Container, record: BatchRecord) -> Response:
    out = batch_out(c, record)
    status = record.report.status
    if status is BatchStatus.REFUSED:
        return _refused(out)
    code = 201 if status is BatchStatus.REGISTERED and out.created_count else 200
    return Response(out.model_dump_json(), status_code=code, media_type="application/json")


def _refused(out: BatchOut) -> JSONResponse:
    """422 problem+json: `errors` per row and field (`row<N>.<field>`), and the batch itself."""
    errors = {f"row{r.row}.{key}": reason for r in out.rows for key, reason in r.errors.items()}
    if out.accept_partial:
        detail = f"{out.refused_count}行有误，没有可登记的行"
    else:
        detail = (
            f"{out.refused_count}行有误，整批未登记：请按 errors 修正后重新提交，"
            "或加 accept_partial=true 只登记无误的行"
        )
    body = {
        "type": "urn:publicpay:problem:batch_refused",
        "title": "批量登记未通过",
        "status": 422,
        "detail": detail,
        "errors": errors,
        "batch": out.model_dump(mode="json"),
    }
    return JSONResponse(body, status_code=422, media_type="application/problem+json")
