"""`Idempotency-Key` for mutating calls that have no business key of their own (opening an
order, a barcode payment, setting the webhook endpoint).

The key is claimed before the work; the answer is stored and a retry with the same key and the
same request gets it again (header `Idempotent-Replayed: true`); the same key with another
request → 422; while the first call still runs → 409. A call that failed because the channel
was unavailable releases its key, so a retry runs again. Keys are kept for 24 hours.

`sealed=True` (answers that carry a one-time secret, such as a reset password): the stored
answer is encrypted with the platform's secret box, bound to its scope and key.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from fastapi import Request, Response
from pydantic import BaseModel

from publicpay.api.problems import problem_for
from publicpay.bootstrap import Container
from publicpay.domain.errors import Conflict, DomainError, ValidationFailed

log = logging.getLogger("publicpay.api.idempotency")
HEADER = "Idempotency-Key"
RETRYABLE = frozenset({503})  # channel unavailable: the work did not happen


def idempotent(
    c: Container,
    request: Request,
    scope: str,
    fingerprint: str,
    run: Callable[[], BaseModel],
    *,
    status_code: int = 200,
    sealed: bool = False,
) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return _json(run(), status_code)
    if not 1 <= len(key) <= 255:
        raise ValidationFailed("Idempotency-Key 长度应为 1–255", errors={HEADER: "长度错误"})
    request_hash = hashlib.sha256(
        f"{request.method} {request.url.path}\n{fingerprint}".encode()
    ).hexdigest()
    with c.uow() as uow:
        stored = uow.idempotency.claim(scope, key, request_hash, c.clock.now())
        uow.commit()
    if stored is not None:
        if stored.request_hash != request_hash:
            raise ValidationFailed(
                "同一 Idempotency-Key 已用于另一个请求", errors={HEADER: "与原请求内容不同"}
            )
        if stored.status != "done" or stored.status_code is None or stored.response is None:
            raise Conflict("使用该 Idempotency-Key 的请求仍在处理中，请稍后重试")
        body = c.box.open(stored.response, _context(scope, key)) if sealed else stored.response
        return _replay(stored.status_code, body)
    return _run_and_store(c, scope, key, run, status_code, sealed)


def _context(scope: str, key: str) -> bytes:
    return f"idempotency:{scope}:{key}".encode()


def _run_and_store(
    c: Container,
    scope: str,
    key: str,
    run: Callable[[], BaseModel],
    status_code: int,
    sealed: bool = False,
) -> Response:
    try:
        response: Response = _json(run(), status_code)
    except DomainError as exc:
        response = problem_for(exc)
    except BaseException:
        _settle(c, scope, key, None)
        raise
    _settle(c, scope, key, None if response.status_code in RETRYABLE else response, sealed)
    return response


def _settle(
    c: Container, scope: str, key: str, response: Response | None, sealed: bool = False
) -> None:
    with c.uow() as uow:
        repo = uow.idempotency
        if response is None:
            repo.release(scope, key)
        else:
            body = bytes(response.body)
            stored = c.box.seal(body, _context(scope, key)) if sealed else body
            repo.complete(scope, key, response.status_code, stored)
        uow.commit()


def _json(model: BaseModel, status_code: int) -> Response:
    return Response(
        model.model_dump_json().encode(), status_code=status_code, media_type="application/json"
    )


def _replay(status_code: int, body: bytes) -> Response:
    media = "application/problem+json" if status_code >= 400 else "application/json"
    return Response(
        body, status_code=status_code, media_type=media, headers={"Idempotent-Replayed": "true"}
    )
