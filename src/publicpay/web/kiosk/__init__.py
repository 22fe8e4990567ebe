"""The self-service kiosk (`/kiosk`, K1): a portrait touch screen (1080×1920), large type, one
tap a step. A person starts with an ID card (read by the local card-reader agent, see
docs/kiosk.md), a payment code (typed, or scanned by the kiosk's scanner), or the QR of a
payment record (Alipay's 缴费记录); sees their unpaid payables across every unit and their
printable receipts; pays one or several in one QR payment with a countdown; prints receipts;
sees their history. An idle timeout returns to the start and clears every personal detail
from the screen and the browser's storage.

The browser is enrolled once with the kiosk's device credential (`/kiosk/enrol`); the pages
call `/kiosk/api/*` with that session (web/kiosk/api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from publicpay.bootstrap import Container
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.money import format_yuan
from publicpay.web.kiosk import api
from publicpay.web.kiosk.session import (
    AGENT_COOKIE,
    COOKIE,
    DEFAULT_AGENT,
    PATH,
    container,
    current_kiosk,
    enrolled,
    session_value,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["yuan"] = format_yuan
router = APIRouter(include_in_schema=False)
IDLE_S = 60  # back to the start after a minute without a touch
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
YEAR = 365 * 24 * 3600


def _csp(agent: str) -> str:
    """The platform's policy, with the local card-reader agent allowed for connections."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self' {agent}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def _agent(request: Request) -> str:
    given = request.cookies.get(AGENT_COOKIE, "")
    return given if _is_agent_url(given) else DEFAULT_AGENT


def _is_agent_url(url: str) -> bool:
    """Only a loopback agent: the kiosk's own machine."""
    parts = urlsplit(url)
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost")
        and not parts.path.strip("/")
    )


def _page(
    request: Request, name: str, context: Mapping[str, object], status: int = 200
) -> Response:
    page = templates.TemplateResponse(request, name, dict(context), status_code=status)
    page.headers["Content-Security-Policy"] = _csp(_agent(request))
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get(PATH)
def kiosk_page(request: Request, idle: int = IDLE_S, c: Container = Depends(container)) -> Response:
    try:
        kiosk = current_kiosk(c, request.cookies.get(COOKIE, ""))
    except DomainError as exc:
        return _page(request, "disabled.html", {"message": exc.detail}, status=403)
    if kiosk is None:
        return RedirectResponse(f"{PATH}/enrol", status_code=303)
    with c.read_uow() as uow:
        site = uow.units.site(kiosk.device.site_id) if kiosk.device.site_id else None
    context = {
        "device": kiosk.device,
        "site": site,
        "agent": _agent(request),
        "idle": max(3, min(idle, 600)),
    }
    return _page(request, "kiosk.html", context)


@router.get(f"{PATH}/enrol")
def enrol_page(request: Request) -> Response:
    return _page(request, "enrol.html", {"agent": _agent(request), "error": ""})


@router.post(f"{PATH}/enrol")
def enrol(
    request: Request,
    app_id: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    secret: Annotated[str, Form(max_length=128, pattern=NO_CONTROLS)] = "",
    agent: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = DEFAULT_AGENT,
    c: Container = Depends(container),
) -> Response:
    """Done once by the installer: the kiosk's device id and secret (never shown again)."""
    agent = agent.strip() or DEFAULT_AGENT
    try:
        if not _is_agent_url(agent):
            raise ValidationFailed("读卡器代理地址应为本机地址，如 http://127.0.0.1:17890")
        device = enrolled(c, app_id.strip(), secret.strip())
    except DomainError as exc:
        context = {"agent": agent, "error": exc.detail, "app_id": app_id}
        return _page(request, "enrol.html", context, status=422)
    done = RedirectResponse(PATH, status_code=303)
    secure = request.url.scheme == "https"
    value = session_value(c, device.app_id, secret.strip())
    done.set_cookie(COOKIE, value, max_age=YEAR, path=PATH, httponly=True, samesite="strict",
                    secure=secure)  # fmt: skip
    done.set_cookie(AGENT_COOKIE, agent, max_age=YEAR, path=PATH, httponly=True,
                    samesite="strict", secure=secure)  # fmt: skip
    return done


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(api.router)
    app.mount(f"{PATH}/static", StaticFiles(directory=HERE / "static"), name="kiosk-static")
