"""The FastAPI application: JSON API, payer pages, and (demo/test only) channel emulators."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publicpay.adapters.payables.batch_files.reading import MAX_FILE_BYTES
from publicpay.api import glossary, openapi_contract, openapi_docs, problems, threads
from publicpay.api.body_limit import BodyLimit
from publicpay.api.proxies import TrustedProxies
from publicpay.api.rate_limits import AnonymousLimits, ApiClientLimiter, anonymous_allowance
from publicpay.api.routes import (
    admin,
    catalogue,  # issue 10 (admin)
    clearing,  # issue 12
    credentials,
    devices,
    events,
    health,
    pos,  # issue 13 (portal): the window POS's lookup
    receipts,
    refunds,
    units,  # issue 10 (admin): regions, units, sites and windows
    users,  # issue 10 (admin): console users and roles
)
from publicpay.api.routes.payables import batches, registration
from publicpay.api.routes.payments import (
    aggregate,
    barcode,
    carts,
    cash,
    counter,
    notifications,
    payer,
)
from publicpay.api.security_headers import SecurityHeaders
from publicpay.bootstrap import Container
from publicpay.web import console, kiosk, portal, vendor, verify
from publicpay.web.vendor import vendor_dir

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
        docs_url=None,  # served by openapi_docs from the vendored Swagger UI (no CDN)
        redoc_url=None,
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
        carts.router,  # before payer.router: /api/v1/pay/cart/... (issue 13)
        payer.router,
        notifications.router,
        counter.router,
        cash.router,
        barcode.router,
        aggregate.router,
        receipts.router,
        admin.router,
        credentials.router,
        refunds.router,  # refunds (issue 11)
        devices.router,  # devices and the kiosk: issue 13
        clearing.router,  # clearing vouchers: issue 12
        catalogue.router,  # fee catalogue and unit authorisations: issue 10 (admin)
        pos.router,  # the window POS's lookup: issue 13 (portal)
        units.router,  # regions, units, sites, windows: issue 10 (admin)
        users.router,  # console users and roles: issue 10 (admin)
    ):
        app.include_router(router)
    app.router.routes[0:0] = hot_routes()
    openapi_docs.install(app)
    vendor.install(app, vendor_dir(c.settings.vendor_dir))
    portal.install(app)
    verify.install(app)
    console.install(app)
    kiosk.install(app)  # the self-service kiosk (issue 13)
    for channel, emulator_app in (emulators or {}).items():
        app.mount(f"/emulator/{channel}", emulator_app)
    _edge(app, c)
    return app


# Batch registration uploads: the file limit plus room for a multipart form's framing.
UPLOAD_PATHS = frozenset({"/api/v1/payable-batches", "/console/payable-batches"})
UPLOAD_LIMIT = MAX_FILE_BYTES + 256_000


def _edge(app: FastAPI, c: Container) -> None:
    """Plain ASGI middleware, outermost last: trusted proxies' headers (when configured),
    the request log, security headers, then the body limit in front of every route."""
    app.add_middleware(
        BodyLimit,
        limit=c.settings.max_body_bytes,
        upload_limit=max(UPLOAD_LIMIT, c.settings.max_body_bytes),
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    if c.settings.trusted_proxies:
        app.add_middleware(TrustedProxies, proxies=c.settings.trusted_proxies)


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
        given = _header(scope, b"x-request-id")
        request_id = given if _fit_for_logs(given) else secrets.token_hex(8)
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


def _fit_for_logs(request_id: str) -> bool:
    """A caller's request id is echoed and logged only when short and plain ASCII."""
    return 0 < len(request_id) <= 64 and request_id.isascii() and request_id.isprintable()


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
            app.openapi_schema = openapi_contract.complete(glossary.fill_descriptions(build()), app)
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
