"""The FastAPI application: JSON API, payer pages, and (demo/test only) channel emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.routing import Route
from starlette.types import ASGIApp

from publicpay.adapters.payables.batch_files.reading import MAX_FILE_BYTES
from publicpay.api import glossary, openapi_contract, openapi_docs, problems, threads
from publicpay.api.edge import Edge
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
from publicpay.bootstrap import Container
from publicpay.web import console, kiosk, portal, vendor, verify
from publicpay.web.vendor import vendor_dir

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
        telemetry=NO_TELEMETRY,
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


# FastAPI's native OpenTelemetry spans, metrics and logs, off: PublicPay ships no OpenTelemetry
# SDK (only the API, which FastAPI depends on), so they could only go to providers nobody set
# up, and asking whether one is set up costs every request about 30,000 instructions.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

# Batch registration uploads: the file limit plus room for a multipart form's framing.
UPLOAD_PATHS = frozenset({"/api/v1/payable-batches", "/console/payable-batches"})
UPLOAD_LIMIT = MAX_FILE_BYTES + 256_000


def _edge(app: FastAPI, c: Container) -> None:
    """Plain ASGI middleware, outermost last: trusted proxies' headers (when configured), then
    the edge (request id and log, security headers, body limit) in front of every route."""
    app.add_middleware(
        Edge,
        limit=c.settings.max_body_bytes,
        upload_limit=max(UPLOAD_LIMIT, c.settings.max_body_bytes),
        upload_paths=UPLOAD_PATHS,
    )
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
