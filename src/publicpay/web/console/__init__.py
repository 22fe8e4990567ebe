"""Finance and unit console (`/console`, desktop and phone): login with password and TOTP,
batch registration of payables (批量登记), receipt stock (票据号段), signing keys, the write-off
report (票据核销) and API credentials (接口凭证)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from publicpay.web.console import (
    alerts,  # statistics (issue 10): supervision alerts
    audit,
    batches,
    catalogue,
    channels,
    clearing,  # clearing (issue 12)
    credentials,
    devices,  # devices (issue 13)
    exports,
    lists,
    login,
    messages,  # portal (issue 13)
    pos,  # portal (issue 13): the window POS
    reconciliation,  # reconciliation (issue 12)
    refunds,  # refunds (issue 11)
    shifts,  # the cash office
    statistics,  # statistics (issue 10), with lists and exports
    stock,
    units,
    users,
    webhooks,
    writeoff,
)
from publicpay.web.console.pages import (
    HERE,
    PATH,
    LoginRequired,
    PageRefused,
    PasswordChangeRequired,
    invalid_form_page,
    login_redirect,
    password_redirect,
    refused_page,
)

API = f"{PATH}/api/"  # the console's JSON (the cash office's shift for the POS page)


def install(app: FastAPI) -> None:
    for module in (login, batches, stock, writeoff, credentials, devices):  # devices: issue 13
        app.include_router(module.router)
    for module in (users, units, catalogue, audit, webhooks, channels):  # administration
        app.include_router(module.router)
    app.include_router(refunds.router)  # refunds (issue 11)
    app.include_router(reconciliation.router)  # reconciliation (issue 12)
    app.include_router(clearing.router)  # clearing (issue 12)
    app.include_router(shifts.router)  # the cash office
    for module in (lists, exports, statistics, alerts):  # statistics (issue 10)
        app.include_router(module.router)
    app.include_router(messages.router)  # portal (issue 13)
    app.include_router(pos.router)  # portal (issue 13): /pos and /console/pos
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(PageRefused, refused_page)
    app.add_exception_handler(PasswordChangeRequired, password_redirect)
    api_handler = app.exception_handlers[RequestValidationError]

    async def invalid_input(request: Request, exc: Exception) -> Response:
        page = request.url.path.startswith(PATH) and not request.url.path.startswith(API)
        if page and isinstance(exc, RequestValidationError):
            return invalid_form_page(request, exc)
        answer: Response = api_handler(request, exc)  # type: ignore[assignment]
        return answer

    app.add_exception_handler(RequestValidationError, invalid_input)
    app.mount(f"{PATH}/static", StaticFiles(directory=HERE / "static"), name="console-static")
