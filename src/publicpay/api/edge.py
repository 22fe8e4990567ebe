"""The edge in front of every route (API, pages, static files, emulators): one plain ASGI
middleware that does, per request, what three layers did one after another.

- **Request id**: every response carries `X-Request-Id` (the caller's when short and plain
  ASCII, else a new one); a response with a status of 400 or more is logged with it.
- **Security headers** (`api.security_headers`): added to every response, HSTS over HTTPS.
- **Body limit** (`api.body_limit`): a bad target, a bad or too large `Content-Length` refused
  before the body is read, a body counted while it streams and refused once past the limit.

Refusals go out through the same `send` wrapper as answers, so they carry the request id and
the security headers and are logged. One wrapper of `send` and one of `receive` a request,
instead of a wrapper per concern (each costs a coroutine per ASGI message).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publicpay.api.body_limit import BodyTooLarge, counted, refuse, refused_before_reading
from publicpay.api.security_headers import HEADERS, HSTS

log = logging.getLogger("publicpay.http")

REQUEST_ID = b"x-request-id"
CONTENT_LENGTH = b"content-length"


class Edge:
    def __init__(
        self, app: ASGIApp, *, limit: int, upload_limit: int, upload_paths: frozenset[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, declared = _request_id_and_length(scope["headers"])
        request_id = (given if _fit_for_logs(given) else secrets.token_hex(8)).encode("latin-1")
        https = scope.get("scheme") == "https"
        started_at = time.perf_counter()
        started = False

        async def answer(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = _response_headers(message.get("headers", ()), request_id, https)
                message = {**message, "headers": headers}
                if message["status"] >= 400:
                    _log_failure(scope, message["status"], started_at, request_id)
            await send(message)

        limit = self.upload_limit if scope["path"] in self.upload_paths else self.limit
        refusal = refused_before_reading(scope, declared, limit)
        if refusal is not None:
            await refuse(scope, receive, answer, *refusal)
            return
        try:
            await self.app(scope, counted(receive, limit), answer)
        except BodyTooLarge as exc:  # read outside FastAPI's handlers (e.g. a mounted app)
            if started:
                raise
            await refuse(scope, receive, answer, 413, str(exc.detail))


def _request_id_and_length(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str | None]:
    """The caller's `X-Request-Id` ("" when none) and `Content-Length` (None when none)."""
    given, declared = "", None
    for key, value in headers:
        if key == REQUEST_ID:
            given = bytes(value).decode("latin-1")
        elif key == CONTENT_LENGTH and declared is None:
            declared = bytes(value).decode("latin-1").strip()
    return given, declared


def _fit_for_logs(request_id: str) -> bool:
    """A caller's request id is echoed and logged only when short and plain ASCII."""
    return 0 < len(request_id) <= 64 and request_id.isascii() and request_id.isprintable()


def _response_headers(
    headers: Iterable[tuple[bytes, bytes]], request_id: bytes, https: bool
) -> list[tuple[bytes, bytes]]:
    """The app's headers (its own `X-Request-Id` dropped), ours, and every security header the
    app did not set itself."""
    kept, present = [], set()
    for key, value in headers:
        name = bytes(key).lower()
        if name != REQUEST_ID:
            kept.append((key, value))
            present.add(name)
    kept.extend(h for h in HEADERS if h[0] not in present)
    if https and HSTS[0] not in present:
        kept.append(HSTS)
    kept.append((REQUEST_ID, request_id))
    return kept


def _log_failure(scope: Scope, status: int, started_at: float, request_id: bytes) -> None:
    log.info(
        "%s %s -> %s (%.1f ms) request_id=%s",
        scope["method"],
        scope["path"],
        status,
        (time.perf_counter() - started_at) * 1000,
        request_id.decode("latin-1"),
    )
