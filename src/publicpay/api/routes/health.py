"""Health and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from publicpay.api.deps import container
from publicpay.bootstrap import Container

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="存活检查")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="就绪检查（数据库可用）")
def readyz(c: Container = Depends(container)) -> JSONResponse:
    try:
        with c.engines.read.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ready"})
