"""API credentials (U2) and webhook secrets (N1): rotation with a grace period, revocation.

- A finance bureau's administration system lists, rotates and revokes the credentials of its
  region (`/api/v1/admin/api-clients`): units' business systems and devices by their unit's
  region, finance credentials by their own region, platform-wide ones (the collecting bank,
  unit-less kiosks) only by the platform's own bureau.
- A unit's business system rotates its own secret, signing with the current one.
- A unit rotates its webhook signing secret; deliveries carry both signatures meanwhile.

Rotation and revocation take effect at once in the process that made them; other API processes
see them within their client cache period (10 s).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt

from publicpay.api.auth import (
    current_finance_client,
    current_signed_client,
    current_unit_client,
    finance_client,
)
from publicpay.api.deps import container
from publicpay.api.params import AppId
from publicpay.api.routes.admin import may_administer, unit_regions
from publicpay.bootstrap import Container
from publicpay.domain.errors import Forbidden, NotFound
from publicpay.domain.payments.accounts import PLATFORM
from publicpay.domain.units import ApiClient
from publicpay.services.units.credentials import (
    DEFAULT_GRACE_S,
    revoke_client,
    rotate_client_secret,
    rotate_webhook_secret,
)

router = APIRouter(prefix="/api/v1", tags=["credentials"])


class RotateIn(BaseModel):
    grace_s: StrictInt = Field(
        default=DEFAULT_GRACE_S,
        ge=0,
        le=30 * 24 * 3600,
        description="旧密钥继续有效的秒数（默认 86400 即 24 小时；0 表示立即失效）",
    )


class ApiClientOut(BaseModel):
    app_id: str = Field(description="App ID")
    kind: str = Field(
        description="凭证类型：unit 业务系统 / bank 代收银行 / device 终端 / finance 财政"
    )
    scope: str = Field(description="管理范围：unit:<单位编码> / region:<区划代码> / * 全平台")
    status: str = Field(description="active 有效 / revoked 已吊销")
    created_at: datetime | None = Field(description="创建时间")
    rotated_at: datetime | None = Field(description="最近一次轮换时间")
    previous_valid_until: datetime | None = Field(description="轮换前的旧密钥有效至")
    revoked_at: datetime | None = Field(description="吊销时间")


class RotatedOut(ApiClientOut):
    app_secret: str = Field(description="新密钥（只返回这一次，请妥善保存）")


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="新的通知签名密钥（只返回这一次）")
    previous_valid_until: datetime = Field(description="旧密钥的签名一并附带至此时间")


Units = dict[int, tuple[str, str]]  # unit id → (unit code, region code), read once per request


def _scope(client: ApiClient, units: Units) -> str:
    if client.kind == "finance" and client.region_code:
        return f"region:{client.region_code}"
    unit = units.get(client.unit_id) if client.unit_id is not None else None
    return PLATFORM if unit is None else f"unit:{unit[0]}"


def _out(client: ApiClient, units: Units) -> ApiClientOut:
    return ApiClientOut(
        app_id=client.app_id,
        kind=client.kind,
        scope=_scope(client, units),
        status="active" if client.active else "revoked",
        created_at=client.created_at,
        rotated_at=client.rotated_at,
        previous_valid_until=client.previous_valid_until,
        revoked_at=client.revoked_at,
    )


def _administered(c: Container, admin: ApiClient, app_id: str) -> Units:
    """The unit regions, once `admin` may manage `app_id`."""
    with c.read_uow() as uow:
        target = uow.units.client(app_id)
    units = unit_regions(c)
    if target is None:
        raise NotFound(f"凭证 {app_id} 不存在")
    if not may_administer(c, admin, _scope(target, units), units):
        raise Forbidden(f"无权管理凭证 {app_id}（不在本财政部门的管理范围内）")
    return units


@router.get("/admin/api-clients", response_model=list[ApiClientOut], summary="接口凭证列表")
def list_clients(
    admin: ApiClient = Depends(finance_client), c: Container = Depends(container)
) -> list[ApiClientOut]:
    with c.read_uow() as uow:
        clients = uow.units.clients()
    units = unit_regions(c)
    shown = [_out(client, units) for client in clients]
    return [out for out in shown if may_administer(c, admin, out.scope, units)]


@router.post(
    "/admin/api-clients/{app_id}/rotate",
    response_model=RotatedOut,
    summary="轮换接口凭证密钥（旧密钥在宽限期内仍有效）",
)
def rotate(
    app_id: AppId,
    body: RotateIn | None = None,
    admin: ApiClient = Depends(current_finance_client),
    c: Container = Depends(container),
) -> RotatedOut:
    units = _administered(c, admin, app_id)
    return _rotated(c, app_id, body, f"finance:{admin.app_id}", units)


def _rotated(
    c: Container, app_id: str, body: RotateIn | None, actor: str, units: Units
) -> RotatedOut:
    grace = (body or RotateIn()).grace_s
    secret, client = rotate_client_secret(
        c.uow(), app_id, grace_s=grace, actor=actor, clock=c.clock
    )
    c.client_cache.drop(app_id)  # other processes: within their cache period
    return RotatedOut(**_out(client, units).model_dump(), app_secret=secret)


@router.post(
    "/admin/api-clients/{app_id}/revoke", response_model=ApiClientOut, summary="吊销接口凭证"
)
def revoke(
    app_id: AppId,
    admin: ApiClient = Depends(current_finance_client),
    c: Container = Depends(container),
) -> ApiClientOut:
    units = _administered(c, admin, app_id)
    client = revoke_client(c.uow(), app_id, actor=f"finance:{admin.app_id}", clock=c.clock)
    c.client_cache.drop(app_id)
    return _out(client, units)


@router.post(
    "/credentials/rotate",
    response_model=RotatedOut,
    summary="轮换本凭证的密钥（用当前密钥签名；旧密钥在宽限期内仍有效）",
)
def rotate_own(
    body: RotateIn | None = None,
    client: ApiClient = Depends(current_signed_client),
    c: Container = Depends(container),
) -> RotatedOut:
    actor = f"{client.kind}:{client.app_id}"
    return _rotated(c, client.app_id, body, actor, unit_regions(c))


@router.post(
    "/webhook-endpoint/rotate-secret",
    response_model=WebhookSecretOut,
    summary="轮换通知签名密钥（宽限期内推送同时附带新旧两个签名）",
)
def rotate_webhook(
    body: RotateIn | None = None,
    client: ApiClient = Depends(current_unit_client),
    c: Container = Depends(container),
) -> WebhookSecretOut:
    assert client.unit_id is not None
    grace = (body or RotateIn()).grace_s
    secret, until = rotate_webhook_secret(
        c.uow(), client.unit_id, grace_s=grace, actor=f"unit:{client.app_id}", clock=c.clock
    )
    return WebhookSecretOut(secret=secret, previous_valid_until=until)
