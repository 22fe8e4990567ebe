"""渠道商户账户 (channel merchant accounts) screen, issue 10: the console face of
`PUT /api/v1/admin/channel-accounts`.

A finance admin lists the accounts of its region and below (secrets masked) and saves one
(channel, scope, configuration as JSON). The configuration is saved only after a test call to
the channel succeeds (`services.payments.accounts`); a secret field left as ****** keeps the
stored value. Scopes outside the admin's region are refused.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.channels.configured import build_gateway
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository
from publicpay.bootstrap import Container
from publicpay.domain.access import Actor, Permission
from publicpay.domain.errors import DomainError, Forbidden, ValidationFailed
from publicpay.domain.payments.accounts import PLATFORM, scope_within, validate_scope
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.accounts import SECRET_KEYS, save_channel_account
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    Viewer,
    check_csrf,
    container,
    form_status,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
MASK = "******"
CHANNEL_LABELS = {"alipay": "支付宝", "wechat": "微信支付", "unionpay": "银联"}


def _store(uow: Any) -> ChannelAccountsRepository:
    store: ChannelAccountsRepository = uow.channel_accounts
    return store


def _within(c: Container, actor: Actor, scope: str, units: dict[int, tuple[str, str]]) -> bool:
    if scope == PLATFORM:
        return actor.region_code == c.settings.region_code
    return actor.region_code is not None and scope_within(
        scope, actor.region_code, dict(units.values())
    )


def _accounts(c: Container, v: Viewer) -> list[dict[str, Any]]:
    with c.read_uow() as uow:
        accounts = uow.channel_accounts.accounts()
        units = uow.channel_accounts.unit_regions()
    return [
        {
            "channel": a.channel,
            "scope": a.scope,
            "config": {k: (MASK if k in SECRET_KEYS else v) for k, v in a.config.items()},
        }
        for a in accounts
        if _within(c, v.actor, a.scope, units)
    ]


def _page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    context = {"accounts": _accounts(c, v), "channels": CHANNEL_LABELS, **extra}
    return render(request, "channels.html", context, viewer=v, status=status)


@router.get("/channel-accounts")
def channels_page(
    request: Request, done: str = "", v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_CHANNELS)
    return _page(request, c, v, done=done[:60])


def _config(text: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except ValueError:
        raise ValidationFailed(
            "商户配置应为 JSON 对象", errors={"config": "JSON 格式有误"}
        ) from None
    if not isinstance(config, dict) or not config:
        raise ValidationFailed("商户配置应为非空的 JSON 对象", errors={"config": "不是对象"})
    for key in SECRET_KEYS & config.keys():
        if config[key] == MASK:
            if not stored or key not in stored:
                raise ValidationFailed(f"请填写 {key}（尚无已保存的值）", errors={key: "缺少"})
            config[key] = stored[key]
    return config


@router.post("/channel-accounts")
def save_account(
    request: Request,
    channel: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    scope: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = PLATFORM,
    config: Annotated[str, Form(max_length=40_000)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_CHANNELS)
    check_csrf(v.csrf, csrf)
    form = {"channel": channel, "scope": scope, "config": config}
    try:
        chosen = Channel(channel) if channel in CHANNEL_LABELS else None
        if chosen is None:
            raise ValidationFailed("请选择支付渠道", errors={"channel": channel})
        scope = validate_scope(scope.strip() or PLATFORM)
        with c.read_uow() as uow:
            units = uow.channel_accounts.unit_regions()
            stored = next(
                (
                    a.config
                    for a in uow.channel_accounts.accounts()
                    if a.channel == channel and a.scope == scope
                ),
                None,
            )
        if not _within(c, v.actor, scope, units):
            raise Forbidden(f"无权配置范围 {scope} 的渠道账户", errors={"scope": scope})
        save_channel_account(
            c.uow,
            _store,
            chosen,
            _config(config, stored),
            build_gateway,
            actor=v.actor.audit_name,
            clock=c.clock,
            scope=scope,
        )
    except DomainError as exc:
        return _page(request, c, v, status=form_status(exc), error=exc.detail, form=form)
    c.reload_gateways()
    return RedirectResponse(f"{PATH}/channel-accounts?done={channel}|{scope}", status_code=303)
