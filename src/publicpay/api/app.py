"""The FastAPI application: JSON API, payer pages, and (demo/test only) channel emulators."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp

from publicpay.api import problems
from publicpay.api.routes import (
    aggregate,
    barcode,
    cash,
    counter,
    events,
    health,
    notify,
    pay,
    payables,
    receipts,
)
from publicpay.bootstrap import Container
from publicpay.web import portal, verify

log = logging.getLogger("publicpay.http")

DESCRIPTION = """PublicPay 统一公共支付平台 API.

Unit API calls are signed: `X-App-Id`, `X-Timestamp` (unix seconds), `X-Nonce` (unique),
`X-Signature` = lowercase hex HMAC-SHA256(app_secret,
`METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(sha256(body))`), PATH including the query string.
Errors are `application/problem+json`. Amounts are integer fen (`*_fen`)."""


def create_app(c: Container, emulators: Mapping[str, ASGIApp] | None = None) -> FastAPI:
    app = FastAPI(title="PublicPay 统一公共支付平台", version="0.1.0", description=DESCRIPTION)
    app.state.container = c
    problems.install(app)
    for router in (
        health.router,
        payables.router,
        events.router,
        pay.router,
        notify.router,
        counter.router,
        cash.router,
        barcode.router,
        aggregate.router,
        receipts.router,
    ):
        app.include_router(router)
    portal.install(app)
    verify.install(app)
    for channel, emulator_app in (emulators or {}).items():
        app.mount(f"/emulator/{channel}", emulator_app)
    app.middleware("http")(_request_log)
    return app


async def _request_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Request-Id"] = request_id
    if response.status_code >= 400:
        log.info(
            "%s %s -> %s (%.1f ms) request_id=%s",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request_id,
        )
    return response
