"""Finance administration API (财政管理员): channel merchant accounts per region or unit.

Signed like every other API, with a finance bureau's credential; a bureau manages its own
region and everything below it. The console for people comes with its own issue; this is the
interface it (and scripts) use.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt, StringConstraints

from publicpay.adapters.channels.configured import build_gateway
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository
from publicpay.api.auth import finance_client
from publicpay.api.deps import container
from publicpay.api.schemas import MULTILINE, NO_CONTROLS
from publicpay.bootstrap import Container
from publicpay.domain.errors import Forbidden
from publicpay.domain.payments.accounts import PLATFORM, scope_within, validate_scope
from publicpay.domain.payments.channels import Channel
from publicpay.domain.units import ApiClient
from publicpay.services.payments.accounts import SECRET_KEYS, save_channel_account

router = APIRouter(prefix="/api/v1/admin", tags=["finance administration"])
MASK = "******"


ConfigKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROLS)]
# PEM keys and certificates span lines; numbers for timeouts and poll counts
ConfigValue = (
    Annotated[str, StringConstraints(max_length=20_000, pattern=MULTILINE)]
    | StrictInt
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
)


class ChannelAccountIn(BaseModel):
    channel: Literal["alipay", "wechat", "unionpay"] = Field(description="支付渠道")
    scope: str = Field(
        default=PLATFORM,
        max_length=40,
        description="适用范围：* 全平台；region:<区划代码> 该区划及以下；"
        "unit:<单位编码> 单个执收单位",
    )
    config: dict[ConfigKey, ConfigValue] = Field(
        max_length=40, description="商户配置（字段见渠道接入文档；保存前做测试调用）"
    )


class ChannelAccountOut(BaseModel):
    channel: str = Field(description="支付渠道")
    scope: str = Field(description="适用范围")
    config: dict[str, Any] = Field(description="商户配置（密钥已隐去）")


def _store(uow: Any) -> ChannelAccountsRepository:
    """The account store on the unit of work's own connection (same transaction)."""
    return ChannelAccountsRepository(uow.connection, uow.box)


def _visible(config: dict[str, Any]) -> dict[str, Any]:
    return {k: (MASK if k in SECRET_KEYS else v) for k, v in config.items()}


def unit_regions(c: Container) -> dict[int, tuple[str, str]]:
    """unit id → (unit code, region code): read once per request, used for every scope check."""
    with c.read_uow() as uow:
        return ChannelAccountsRepository(uow.connection, uow.box).unit_regions()


def may_administer(
    c: Container, client: ApiClient, scope: str, units: dict[int, tuple[str, str]]
) -> bool:
    """Whether a finance credential's region covers `scope` (channel accounts, credentials)."""
    region = client.region_code or ""
    if scope == PLATFORM:
        return region == c.settings.region_code  # only the platform's own bureau
    return scope_within(scope, region, dict(units.values()))


@router.get("/channel-accounts", response_model=list[ChannelAccountOut], summary="渠道商户账户列表")
def list_accounts(
    client: ApiClient = Depends(finance_client), c: Container = Depends(container)
) -> list[ChannelAccountOut]:
    with c.read_uow() as uow:
        accounts = ChannelAccountsRepository(uow.connection, uow.box).accounts()
    units = unit_regions(c)
    return [
        ChannelAccountOut(channel=a.channel, scope=a.scope, config=_visible(a.config))
        for a in accounts
        if may_administer(c, client, a.scope, units)
    ]


@router.put(
    "/channel-accounts", response_model=ChannelAccountOut, summary="保存渠道商户账户（先测试调用）"
)
def put_account(
    body: ChannelAccountIn,
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> ChannelAccountOut:
    scope = validate_scope(body.scope)
    if not may_administer(c, client, scope, unit_regions(c)):
        raise Forbidden(f"无权配置范围 {scope} 的渠道账户", errors={"scope": scope})
    save_channel_account(
        c.uow,
        _store,
        Channel(body.channel),
        body.config,
        build_gateway,
        actor=f"finance:{client.app_id}",
        clock=c.clock,
        scope=scope,
    )
    c.reload_gateways()
    return ChannelAccountOut(channel=body.channel, scope=scope, config=_visible(body.config))
