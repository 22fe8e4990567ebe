"""What every console page shares: templates, the logged-in viewer, CSRF, refusals as pages.

The session cookie holds a random token (HttpOnly, SameSite=Strict, path /console); each request
looks the session up again, so logout, idle timeout and a deactivated user take effect at once.
Each form carries a CSRF token derived from the session (a keyed hash of the session id); the
login form, before any session, uses a token bound to a short-lived pre-login cookie.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from publicpay.bootstrap import Container
from publicpay.domain.access import Actor, Permission
from publicpay.domain.errors import Conflict, DomainError, Forbidden, NotFound
from publicpay.domain.money import format_yuan
from publicpay.domain.time import local_text
from publicpay.services.users.accounts import resume_session, session_id
from publicpay.web.console.navigation import menu_for

log = logging.getLogger("publicpay.web.console")
HERE = Path(__file__).parent
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"  # form fields: no control characters (NUL, line breaks)
Csrf = Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)]  # a form's CSRF token field
COOKIE = "pp_console"
LOGIN_COOKIE = "pp_console_login"
PATH = "/console"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["yuan"] = format_yuan
templates.env.filters["local"] = local_text
templates.env.filters["no10"] = lambda n: f"{int(n):010d}"
templates.env.globals["menu_for"] = menu_for
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageRefused(Exception):
    """A refusal shown as a page (403 no permission or bad CSRF, 404 out of scope)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class PasswordChangeRequired(Exception):
    """The user logged in with a one-time password: every page leads to changing it first."""


PASSWORD_PATH = f"{PATH}/password"


@dataclass(frozen=True, slots=True)
class Viewer:
    actor: Actor
    csrf: str


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def source(request: Request) -> str:
    return request.client.host if request.client else ""


def digits(text: str) -> bool:
    """Plain ASCII digits, short enough for a database integer (`str.isdigit` also takes "²",
    which `int` refuses)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


def viewer(request: Request, c: Container = Depends(container)) -> Viewer:
    """The logged-in user of this request, or LoginRequired."""
    token = request.cookies.get(COOKIE, "")
    actor = resume_session(c.uow(), token, clock=c.clock) if token else None
    if actor is None:
        raise LoginRequired(request.url.path)
    if actor.must_change_password and request.url.path != PASSWORD_PATH:
        raise PasswordChangeRequired()
    return Viewer(actor, c.box.lookup_hash(f"console-csrf:{session_id(token)}"))


def require(v: Viewer, permission: Permission) -> None:
    if not v.actor.can(permission):
        raise PageRefused(403, f"您的角色（{v.actor.label}）无权使用此功能")


def check_csrf(expected: str, given: str) -> None:
    if not given or not hmac.compare_digest(expected, given):
        raise PageRefused(403, "页面已过期或来源不明（安全校验失败），请返回刷新页面后重试")


def login_csrf(c: Container, pre_login: str) -> str:
    return c.box.lookup_hash(f"console-login-csrf:{pre_login}")


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    viewer: Viewer | None = None,
    status: int = 200,
) -> Response:
    context = {"viewer": viewer, "Permission": Permission, **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def secure_cookie(request: Request) -> bool:
    return request.url.scheme == "https"


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"{PATH}/login"
    if exc.next_path not in (PATH, f"{PATH}/"):
        target += "?next=" + quote(exc.next_path, safe="/")
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


def form_status(exc: DomainError) -> int:
    """The status of a console form refused by a domain rule (the page shows its message)."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    return 409 if isinstance(exc, Conflict) else 422


def password_redirect(request: Request, exc: Exception) -> Response:
    return RedirectResponse(PASSWORD_PATH, status_code=303)


def invalid_form_page(request: Request, exc: RequestValidationError) -> Response:
    """A console form or query that fails validation (too long, control characters, a number
    out of range): a Chinese page, not the API's problem+json; nothing was changed."""
    fields = sorted({str(err.get("loc", ("", ""))[-1]) for err in exc.errors()})
    log.info("refused %s %s: invalid fields %s", request.method, request.url.path, fields)
    message = "提交的内容有误（字段过长、含有控制字符或取值超出范围）：" + "、".join(fields)
    context = {"title": "提交的内容有误", "message": message}
    return render(request, "message.html", context, status=422)


def refused_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    context = {"title": "无法访问" if exc.status != 404 else "未找到", "message": exc.message}
    return render(request, "message.html", context, status=exc.status)
