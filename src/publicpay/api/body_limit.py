"""Request body limits for every route, enforced before the body is read.

The edge (`api.edge.Edge`, in front of every route: API, pages, emulators) applies them:

- a declared `Content-Length` over the route's limit is refused at once (413), before a byte
  of the body is read; one that is not a plain ASCII number is refused (400);
- a body without a length (chunked) or longer than declared is counted while it streams, and
  refused (413) as soon as it passes the limit: nothing buffers more than the limit.

Before that, a request whose path or query string carries a control character (NUL, line feeds,
percent-encoded or not) is refused (400): no route wants one, and some would pass it on to the
database (PostgreSQL refuses NUL in text) or into a signature's string to sign.

The limit is `PUBLICPAY_MAX_BODY_BYTES` (1 MB by default); the batch registration uploads (the
unit API's raw file body and the console's multipart form) get `upload_limit` instead, the
batch file limit plus room for the form's framing. Refusals are problem+json, logged by the
request log like any other 4xx.
"""

from __future__ import annotations

import html
import logging

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send

from publicpay.api.problems import problem

log = logging.getLogger("publicpay.http")


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An HTTPException, so that
    FastAPI's body reading lets it through and the problem+json handler answers it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    if limit >= 1_000_000:
        return f"请求体超过 {limit / 1_000_000:g} MB 的上限，已拒绝"
    return f"请求体超过 {limit} 字节的上限，已拒绝"


def refused_before_reading(
    scope: Scope, declared: str | None, limit: int
) -> tuple[int, str] | None:
    """(status, detail) of a request refused before a byte of its body is read: a control
    character in its target, a `Content-Length` (`declared`) that is not a plain number or is
    over `limit`; None when it may be read."""
    if _controls_in_target(scope):
        return 400, "请求地址或查询参数含有控制字符"
    if declared is not None:
        if not (declared.isascii() and declared.isdigit() and len(declared) <= 18):
            return 400, "Content-Length 请求头无效"
        if int(declared) > limit:
            return 413, too_large_detail(limit)
    return None


def counted(receive: Receive, limit: int) -> Receive:
    """`receive` that raises `BodyTooLarge` as soon as the body read passes `limit`."""
    received = 0

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counting


_ENCODED_CONTROLS = tuple(f"%{n:02x}".encode() for n in (*range(0x20), 0x7F))


def _controls_in_target(scope: Scope) -> bool:
    path: str = scope["path"]
    if not path.isprintable():
        return True
    query: bytes = scope.get("query_string", b"")
    if b"%" not in query:
        return False
    lowered = query.lower()
    return any(code in lowered for code in _ENCODED_CONTROLS)


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    """problem+json for the API; a short Chinese page for a browser asking for a page."""
    log.info("refused %s %s: %s", scope["method"], scope["path"], detail)
    title = "请求体过大" if status == 413 else "请求格式错误"
    answer: Response = problem(status, title, detail)
    if not scope["path"].startswith("/api/") and b"text/html" in _header(scope, b"accept"):
        answer = HTMLResponse(PAGE.format(title=title, detail=html.escape(detail)), status)
    answer.headers["Connection"] = "close"  # the unread body must not be taken for a request
    await answer(scope, receive, send)


PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{detail}</p><p><a href="/">返回首页</a></p></body></html>"""


def _header(scope: Scope, name: bytes) -> bytes:
    return next((bytes(v) for k, v in scope["headers"] if k == name), b"")
