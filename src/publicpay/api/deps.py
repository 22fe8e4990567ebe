"""Shared FastAPI dependencies."""

from __future__ import annotations

from fastapi import HTTPException, Request

from publicpay.bootstrap import Container


async def container(request: Request) -> Container:
    """`async`: no I/O here, so FastAPI need not hop to its threadpool to run it."""
    c: Container = request.app.state.container
    return c


async def body_bytes(request: Request) -> bytes:
    limit: int = request.app.state.container.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"请求体超过 {limit} 字节")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"请求体超过 {limit} 字节")
    return body
