"""Build channel gateways from stored channel-account configurations (JSON, PEMs as text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from publicpay.adapters.channels.alipay import AlipayConfig, AlipayGateway
from publicpay.adapters.channels.registry import ChannelRegistry
from publicpay.domain.channels import Channel
from publicpay.services.ports import ChannelGateway


def build_gateway(channel: Channel, config: Mapping[str, Any]) -> ChannelGateway:
    if channel is Channel.ALIPAY:
        return AlipayGateway(
            AlipayConfig(
                app_id=config["app_id"],
                app_private_key_pem=config["app_private_key_pem"].encode(),
                alipay_public_key_pem=config["alipay_public_key_pem"].encode(),
                gateway_url=config["gateway_url"],
                timeout_s=float(config.get("timeout_s", 5.0)),
            )
        )
    raise ValueError(f"channel {channel} cannot be configured yet")


def build_registry(configs: Mapping[str, Mapping[str, Any]]) -> ChannelRegistry:
    return ChannelRegistry(
        {Channel(name): build_gateway(Channel(name), cfg) for name, cfg in configs.items()}
    )
