"""Exports from the console: a list or a statistic downloaded at once (streamed), or — over
`BACKGROUND_ROWS` rows — a background job the worker writes, with a progress bar and a
download link that only the user who asked can use. Every export is an audited action."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from publicpay.adapters import exports
from publicpay.adapters.db import exports as jobs
from publicpay.adapters.db.exports import ExportJob, ExportStatus
from publicpay.adapters.exports import Export, Format
from publicpay.bootstrap import Container
from publicpay.web.console.pages import (
    PATH,
    SECURITY_HEADERS,
    PageRefused,
    Viewer,
    container,
    digits,
    render,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
BACKGROUND_ROWS = 100_000
PRIVATE = ("payer_id", "phone")  # filters naming a person: never in the audit log in clear
NOT_FOUND = "该导出任务不存在或不属于您"


def export_format(request: Request) -> Format | None:
    asked = request.query_params.get("format", "")
    if not asked:
        return None
    try:
        return Format(asked)
    except ValueError:
        raise PageRefused(422, "导出格式应为 csv 或 xlsx") from None


def _filters(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in ("format", "page")}


def _audit(c: Container, v: Viewer, kind: str, params: dict[str, str], detail: dict[str, Any]):  # type: ignore[no-untyped-def]
    shown = {k: ("***" if k in PRIVATE else val) for k, val in params.items()}
    with c.uow() as uow:
        uow.audit.append(
            v.actor.audit_name, "console.export", kind, {**detail, "filters": shown}, c.clock.now()
        )
        uow.commit()


def download(
    c: Container, v: Viewer, request: Request, kind: str, export: Export, fmt: Format, total: int
) -> Response:
    """The export at once (streamed), or a background job when it has too many rows."""
    params = _filters(request)
    if total > BACKGROUND_ROWS:
        return start_job(c, v, kind, export.title, params, fmt, total)
    _audit(c, v, kind, params, {"format": fmt.value, "rows": total})

    def body() -> Iterator[bytes]:
        with c.engines.read.connect() as conn:
            yield from exports.file_chunks(export, fmt, conn)

    return StreamingResponse(
        body(), media_type=fmt.media_type, headers=_file_headers(export.title, fmt)
    )


def _file_headers(title: str, fmt: Format) -> dict[str, str]:
    name = quote(f"{title}.{fmt.value}", safe="")
    disposition = f"attachment; filename=\"export.{fmt.value}\"; filename*=UTF-8''{name}"
    return {**SECURITY_HEADERS, "Content-Disposition": disposition}


def start_job(
    c: Container,
    v: Viewer,
    kind: str,
    title: str,
    params: dict[str, str],
    fmt: Format,
    total: int,
) -> Response:
    with c.engines.write.begin() as conn:
        job_id = jobs.add_job(
            conn,
            user_id=v.actor.user_id,
            kind=kind,
            params_enc=exports.seal_params(c.box, params),
            fmt=fmt.value,
            title=title,
            total_rows=total,
            at=c.clock.now(),
        )
    _audit(c, v, kind, params, {"format": fmt.value, "rows": total, "job": job_id})
    return RedirectResponse(f"{PATH}/exports/{job_id}", status_code=303)


def _job(c: Container, v: Viewer, job_id: str) -> ExportJob:
    if not digits(job_id):
        raise PageRefused(404, NOT_FOUND)
    with c.read_uow() as uow:
        job = jobs.job_of(uow.connection, int(job_id), v.actor.user_id)
    if job is None:
        raise PageRefused(404, NOT_FOUND)
    return job


@router.get("/exports/{job_id}")
def job_page(
    request: Request, job_id: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    job = _job(c, v, job_id)
    return render(request, "export_job.html", {"job": job, "Status": ExportStatus}, viewer=v)


@router.get("/exports/{job_id}/status")
def job_status(
    job_id: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    job = _job(c, v, job_id)
    body = {
        "status": job.status.value,
        "label": job.status.label,
        "percent": job.percent,
        "done_rows": job.done_rows,
        "total_rows": job.total_rows,
    }
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.get("/exports/{job_id}/download")
def job_download(
    job_id: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    job = _job(c, v, job_id)
    if job.status is not ExportStatus.DONE:
        raise PageRefused(409, "导出文件尚未生成完毕，请稍候")
    fmt = Format(job.format)
    return StreamingResponse(
        jobs.chunks(c.engines.read, job.id),
        media_type=fmt.media_type,
        headers=_file_headers(job.title, fmt),
    )
