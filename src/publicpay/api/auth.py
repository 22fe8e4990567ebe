"""HMAC request signatures for business systems, banks and devices (Public contract).

X-Signature = hex HMAC-SHA256(app_secret, METHOD\nPATH\nTIMESTAMP\nNONCE\nhex(sha256(body))),
PATH including the query string; timestamps more than 300 s off, or a reused nonce, are refused.

Every route claims the nonce inside its own first transaction: `signed_client` and friends leave
it in the request's container (`Container.expect_nonce`) for the route's first unit of work; the
hot registration route takes `unit_call` and passes it on (`Container.uow(nonce=...)`). A reused
nonce is refused with 401 at that transaction's commit (or when the nonce is claimed alone,
when the work did not commit), on both databases.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from publicpay.adapters.db.unit_of_work import NonceClaim
from publicpay.api.deps import body_bytes, container
from publicpay.api.rate_limits import ApiClientLimiter
from publicpay.bootstrap import Container
from publicpay.domain.access import Actor, Role
from publicpay.domain.errors import Unauthorized
from publicpay.domain.keyed_hmac import keyed_hmac
from publicpay.domain.units import ApiClient

log = logging.getLogger("publicpay.api.auth")


@dataclass(frozen=True, slots=True)
class SignedCall:
    """A request whose signature checked out; its nonce is still to be claimed."""

    client: ApiClient
    nonce: NonceClaim
    previous_secret: bool = False  # signed with the secret a rotation's grace period keeps


@dataclass(frozen=True, slots=True)
class _Headers:
    app_id: str
    timestamp: str
    nonce: str
    signature: str


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the string to sign under the secret (keyed once per secret)."""
    message = string_to_sign(method, path, timestamp, nonce, body)
    return keyed_hmac(secret.encode()).hexdigest(message.encode())


def _path_with_query(request: Request) -> str:
    """The signed PATH: the request's path and query string as `request.url` gives them. A plain
    path with no query string is that path itself; only the others pay for working out the
    URL (about 40,000 instructions)."""
    path: str = request.scope["path"]
    if not request.scope.get("query_string") and _left_as_it_is(path):
        return path
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _left_as_it_is(path: str) -> bool:
    """A path `URL` (and `urlsplit` under it) gives back unchanged: absolute, not
    authority-like (`//`), printable, with nothing `URL` escapes."""
    return (
        path.startswith("/")
        and not path.startswith("//")
        and path.isprintable()
        and "?" not in path
        and "#" not in path
        and "\\" not in path
    )


def _signed_headers(request: Request, c: Container) -> _Headers:
    headers = request.headers
    found = _Headers(
        headers.get("x-app-id", ""),
        headers.get("x-timestamp", ""),
        headers.get("x-nonce", ""),
        headers.get("x-signature", ""),
    )
    if not (found.app_id and found.timestamp and found.nonce and found.signature):
        raise _refuse("缺少签名请求头 X-App-Id / X-Timestamp / X-Nonce / X-Signature")
    if not _unix_seconds(found.timestamp) or not 8 <= len(found.nonce) <= 64:
        raise _refuse("X-Timestamp 应为 Unix 秒，X-Nonce 长度应为 8–64")
    skew = c.settings.signature_max_skew_s
    if abs(c.clock.now().timestamp() - int(found.timestamp)) > skew:
        raise _refuse(f"请求时间戳与服务器时间相差超过 {skew} 秒")
    return found


def _unix_seconds(value: str) -> bool:
    """ASCII digits only (`str.isdigit` also takes "²" and other digits `int` refuses)."""
    return 0 < len(value) <= 12 and value.isascii() and value.isdigit()


def _checked(
    request: Request, body: bytes, c: Container, found: _Headers, client: ApiClient | None
) -> SignedCall:
    if client is None:
        raise _refuse("未知的 App ID")
    if not client.active:
        raise _refuse(f"凭证 {client.app_id} 已吊销，请联系财政部门获取新凭证")
    if client.unit_disabled:
        raise _refuse(f"凭证 {client.app_id} 所属执收单位已停用，请联系财政部门")
    now = c.clock.now()
    path, given = _path_with_query(request), found.signature.lower()
    keys = client.secrets_at(now)  # in a rotation's grace period: the new secret, then the old
    signed_with = next(
        (
            n
            for n, key in enumerate(keys)
            if hmac.compare_digest(
                sign(key, request.method, path, found.timestamp, found.nonce, body), given
            )
        ),
        None,
    )
    if signed_with is None:
        raise _refuse("签名校验失败")
    app = request.scope.get("app")  # none when the check runs outside an app (bench layers)
    limiter: ApiClientLimiter | None = getattr(app.state, "api_limiter", None) if app else None
    if limiter is not None:
        limiter.take(client.app_id)
    return SignedCall(client, NonceClaim(found.app_id, found.nonce, now), signed_with > 0)


def check_request(request: Request, body: bytes, c: Container) -> SignedCall:
    """Check the signature only; the caller claims `call.nonce` (`c.uow(nonce=...)`)."""
    found = _signed_headers(request, c)
    return _checked(request, body, c, found, c.api_client(found.app_id))


def verify_request(
    request: Request, body: bytes, c: Container, *, current_only: bool = False
) -> ApiClient:
    """Check the signature; the nonce waits in `c` (this request's container) for the route's
    first unit of work, which claims it in its own transaction — a replay is refused there
    (401), whatever the route does. `current_only`: refuse the secret a rotation's grace period
    still accepts (managing credentials needs the current one, or a leaked old secret could
    mint itself a new one)."""
    call = check_request(request, body, c)
    if current_only and call.previous_secret:
        raise _refuse("管理凭证须用当前密钥签名（旧密钥仅在宽限期内用于业务调用）")
    c.expect_nonce(call.nonce)
    return call.client


def _refuse(detail: str) -> Unauthorized:
    log.warning("signature refused: %s", detail)
    return Unauthorized(detail)


async def signed_call(
    request: Request, body: bytes = Depends(body_bytes), c: Container = Depends(container)
) -> SignedCall:
    """Signature checked, nonce not yet claimed: pass `call.nonce` to `c.uow(nonce=...)`."""
    found = _signed_headers(request, c)
    hit, client = c.client_cache.get(found.app_id)
    if not hit:  # the database, at most once per client per cache period
        client = await run_in_threadpool(c.load_api_client, found.app_id)
    return _checked(request, body, c, found, client)


async def unit_call(call: SignedCall = Depends(signed_call)) -> SignedCall:
    _require_unit(call.client)
    return call


def signed_client(
    request: Request, body: bytes = Depends(body_bytes), c: Container = Depends(container)
) -> Iterator[ApiClient]:
    """The signed caller. The route's first unit of work claims the nonce; a request refused
    before any (its body, say) claims it when it ends, so a replay of it is refused too."""
    yield verify_request(request, body, c)
    c.claim_pending_nonce()


def current_signed_client(
    request: Request, body: bytes = Depends(body_bytes), c: Container = Depends(container)
) -> Iterator[ApiClient]:
    """`signed_client`, signed with the current secret (not one in a grace period)."""
    yield verify_request(request, body, c, current_only=True)
    c.claim_pending_nonce()


def current_unit_client(client: ApiClient = Depends(current_signed_client)) -> ApiClient:
    _require_unit(client)
    return client


def unit_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    _require_unit(client)
    return client


def _require_unit(client: ApiClient) -> None:
    if client.kind != "unit" or client.unit_id is None:
        raise Unauthorized("该凭证不是执收单位业务系统凭证")


def bank_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    if client.kind != "bank":
        raise Unauthorized("该凭证不是代收银行凭证")
    return client


def device_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    if client.kind != "device":
        raise Unauthorized("该凭证不是收费终端（设备）凭证")
    return client


def finance_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    """A finance bureau's administration system (财政管理员), scoped to its region."""
    return _require_finance(client)


def claimed_finance_client(
    client: ApiClient = Depends(finance_client), c: Container = Depends(container)
) -> ApiClient:
    """`finance_client` with its nonce claimed at once (its own transaction), before the body
    is validated or the route refuses anything: a replay of any answer, a refusal included, is
    refused as a replay (the administration API's edits are idempotent, so nothing is lost)."""
    c.claim_pending_nonce()
    return client


def current_finance_client(client: ApiClient = Depends(current_signed_client)) -> ApiClient:
    """`finance_client` signed with its current secret (rotating or revoking credentials)."""
    return _require_finance(client)


def finance_actor(client: ApiClient) -> Actor:
    """A finance credential acts as a finance admin of its region (scope, grants, audit name
    `finance:<app id>`)."""
    return Actor(
        0, client.app_id, Role.FINANCE_ADMIN, client.region_code, None, principal="finance"
    )


def _require_finance(client: ApiClient) -> ApiClient:
    if client.kind != "finance" or not client.region_code:
        raise Unauthorized("该凭证不是财政部门管理凭证")
    return client
