"""The FastAPI application: JSON API, payer pages, and (demo/test only) channel emulators."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publicpay.api import glossary, problems, threads
from publicpay.api.rate_limits import AnonymousLimits, ApiClientLimiter, anonymous_allowance
from publicpay.api.routes import admin, credentials, events, health, receipts
from publicpay.api.routes.payables import batches, registration
from publicpay.api.routes.payments import (
    aggregate,
    barcode,
    cash,
    counter,
    notifications,
    payer,
)
from publicpay.bootstrap import Container
from publicpay.web import console, portal, verify

log = logging.getLogger("publicpay.http")

DESCRIPTION = """PublicPay 统一公共支付平台 API.

Unit API calls are signed: `X-App-Id`, `X-Timestamp` (unix seconds), `X-Nonce` (unique),
`X-Signature` = lowercase hex HMAC-SHA256(app_secret,
`METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(sha256(body))`), PATH including the query string.
Errors are `application/problem+json`. Amounts are integer fen (`*_fen`)."""


def create_app(c: Container, emulators: Mapping[str, ASGIApp] | None = None) -> FastAPI:
    app = FastAPI(
        title="PublicPay 统一公共支付平台",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_thread_pools(c.settings.request_threads, c.settings.db_pool_size),
    )
    app.state.container = c
    app.state.api_limiter = ApiClientLimiter(c.settings.api_rate_per_s, c.settings.api_rate_burst)
    app.state.anonymous_limits = AnonymousLimits(anonymous_allowance(c.settings))
    _document_every_field(app)
    problems.install(app)
    for router in (
        health.router,
        registration.router,
        batches.router,
        events.router,
        payer.router,
        notifications.router,
        counter.router,
        cash.router,
        barcode.router,
        aggregate.router,
        receipts.router,
        admin.router,
        credentials.router,
    ):
        app.include_router(router)
    app.router.routes[0:0] = hot_routes()
    portal.install(app)
    verify.install(app)
    console.install(app)
    for channel, emulator_app in (emulators or {}).items():
        app.mount(f"/emulator/{channel}", emulator_app)
    app.add_middleware(RequestLog)
    return app


def hot_routes() -> list[Route]:
    """The two busiest routes, matched first and served without FastAPI's dependency solving;
    their FastAPI declarations (same paths) still document them in /openapi.json."""
    return [
        Route(
            "/api/v1/payables", registration.register_hot, methods=["POST"], include_in_schema=False
        ),
        Route(
            "/api/v1/notify/{channel}",
            notifications.notify_hot,
            methods=["POST"],
            include_in_schema=False,
        ),
    ]


class RequestLog:
    """Tags every HTTP response with `X-Request-Id` (the caller's, or a new one) and logs the
    ones that failed. A plain ASGI middleware: `BaseHTTPMiddleware` costs a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex[:16]
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
                if message["status"] >= 400:
                    _log_failure(scope, message["status"], started, request_id)
            await send(message)

        await self.app(scope, receive, tagged)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _log_failure(scope: Scope, status: int, started: float, request_id: str) -> None:
    log.info(
        "%s %s -> %s (%.1f ms) request_id=%s",
        scope["method"],
        scope["path"],
        status,
        (time.perf_counter() - started) * 1000,
        request_id,
    )


def _document_every_field(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = glossary.fill_descriptions(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _thread_pools(
    request_threads: int, pool_size: int
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The two hot routes run on as many threads as there are database connections, so their
    requests queue before they hold a thread rather than threads queueing for a connection.
    The other routes get FastAPI's threadpool with `request_threads`: they may spend their
    time waiting on a payment channel, not on the database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
        hot = threads.start(app.state, pool_size)
        try:
            yield
        finally:
            threads.stop(hot)

    return lifespan
