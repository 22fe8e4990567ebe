"""Channel accounts (merchant ids, app ids, keys, gateway URLs): validated before they are saved.

A configuration is saved only after a gateway built from it has made a cheap signed call that
the channel answered and that verified: a query of an order that cannot exist, expected to come
back "not found". Wrong keys, a wrong gateway URL or a wrong merchant id fail that call, and the
finance admin sees why. Encryption at rest is the store's business (the SQL repository seals
every configuration with the platform's secret box).

Workflow: calls a channel between transactions (the test call runs before the saving one).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, ValidationFailed
from publicpay.domain.payments.accounts import PLATFORM, validate_scope
from publicpay.domain.payments.channels import Channel, TradeState
from publicpay.services.payments.ports import ChannelAccountStore, ChannelGateway
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

GatewayFactory = Callable[[Channel, Mapping[str, Any]], ChannelGateway]
SECRET_KEYS = frozenset(
    {"app_private_key_pem", "merchant_private_key_pem", "apiv3_key", "sign_key_pem"}
)


def probe(channel: Channel, config: Mapping[str, Any], build: GatewayFactory) -> None:
    """Build the gateway and make the test call; ValidationFailed with the reason if it fails."""
    try:
        gateway = build(channel, config)
    except KeyError as exc:
        raise ValidationFailed(
            f"渠道配置缺少字段 {exc.args[0]}", errors={"config": "缺少字段"}
        ) from exc
    except ValueError as exc:
        raise ValidationFailed(f"渠道配置有误：{exc}", errors={"config": str(exc)}) from exc
    probe_no = "PPCHECK" + secrets.token_hex(8)
    try:
        result = gateway.query(probe_no)
    except ChannelUnavailable as exc:
        raise ValidationFailed(
            f"测试调用失败（网关不可达或验签失败）：{exc.detail}", errors={"config": "测试调用失败"}
        ) from exc
    except ChannelRejected as exc:
        raise ValidationFailed(
            f"渠道拒绝测试调用：{exc.detail}", errors={"config": "渠道拒绝"}
        ) from exc
    if result.state is not TradeState.NOT_FOUND:
        raise ValidationFailed(
            "测试调用的应答异常：不存在的订单竟有交易", errors={"config": "应答异常"}
        )


def save_channel_account(
    new_uow: Callable[[], UnitOfWork],
    store_for: Callable[[UnitOfWork], ChannelAccountStore],
    channel: Channel,
    config: dict[str, Any],
    build: GatewayFactory,
    *,
    actor: str,
    clock: Clock,
    scope: str = PLATFORM,
) -> None:
    """Validate by a test call (outside any transaction), then save with an audit row that
    names the fields set, never their values. `store_for(uow)` gives the store on that unit of
    work's connection (e.g. `lambda uow: ChannelAccountsRepository(uow.connection, uow.box)`)."""
    validate_scope(scope)
    probe(channel, config, build)
    with new_uow() as uow:
        now = clock.now()
        store_for(uow).save(channel.value, config, now, scope=scope, actor=actor)
        uow.audit.append(
            actor,
            "channel_account.saved",
            f"{channel.value}|{scope}",
            {
                "fields": sorted(k for k in config if k not in SECRET_KEYS),
                "secrets_set": sorted(SECRET_KEYS & set(config)),
            },
            now,
        )
        uow.commit()
