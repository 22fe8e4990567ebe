"""HMAC request signatures for business systems, banks and devices (Public contract).

X-Signature = hex HMAC-SHA256(app_secret, METHOD\nPATH\nTIMESTAMP\nNONCE\nhex(sha256(body))),
PATH including the query string; timestamps more than 300 s off, or a reused nonce, are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from fastapi import Depends, Request

from publicpay.api.deps import body_bytes, container
from publicpay.bootstrap import Container
from publicpay.domain.errors import Unauthorized
from publicpay.domain.units import ApiClient

log = logging.getLogger("publicpay.api.auth")


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, nonce, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def verify_request(request: Request, body: bytes, c: Container) -> ApiClient:
    headers = request.headers
    app_id = headers.get("x-app-id", "")
    timestamp = headers.get("x-timestamp", "")
    nonce = headers.get("x-nonce", "")
    signature = headers.get("x-signature", "")
    if not (app_id and timestamp and nonce and signature):
        raise _refuse("缺少签名请求头 X-App-Id / X-Timestamp / X-Nonce / X-Signature")
    if not timestamp.isdigit() or not 8 <= len(nonce) <= 64:
        raise _refuse("X-Timestamp 应为 Unix 秒，X-Nonce 长度应为 8–64")
    now = c.clock.now()
    if abs(now.timestamp() - int(timestamp)) > c.settings.signature_max_skew_s:
        raise _refuse(f"请求时间戳与服务器时间相差超过 {c.settings.signature_max_skew_s} 秒")
    client = c.api_client(app_id)
    if client is None or not client.active:
        raise _refuse("未知或已停用的 App ID")
    expected = sign(
        client.secret, request.method, _path_with_query(request), timestamp, nonce, body
    )
    if not hmac.compare_digest(expected, signature.lower()):
        raise _refuse("签名校验失败")
    with c.uow() as uow:
        fresh = uow.units.remember_nonce(app_id, nonce, now)
        uow.commit()
    if not fresh:
        raise _refuse("X-Nonce 已使用过（重放请求）")
    return client


def _refuse(detail: str) -> Unauthorized:
    log.warning("signature refused: %s", detail)
    return Unauthorized(detail)


def signed_client(
    request: Request, body: bytes = Depends(body_bytes), c: Container = Depends(container)
) -> ApiClient:
    return verify_request(request, body, c)


def unit_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    if client.kind != "unit" or client.unit_id is None:
        raise Unauthorized("该凭证不是执收单位业务系统凭证")
    return client


def bank_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    if client.kind != "bank":
        raise Unauthorized("该凭证不是代收银行凭证")
    return client


def device_client(client: ApiClient = Depends(signed_client)) -> ApiClient:
    if client.kind != "device":
        raise Unauthorized("该凭证不是收费终端（设备）凭证")
    return client
