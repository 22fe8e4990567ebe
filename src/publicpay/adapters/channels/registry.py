"""The configured channel gateways, by channel."""

from __future__ import annotations

from collections.abc import Mapping

from publicpay.domain.channels import Channel
from publicpay.domain.errors import ValidationFailed
from publicpay.services.ports import ChannelGateway


class ChannelRegistry:
    def __init__(self, gateways: Mapping[Channel, ChannelGateway]) -> None:
        self._gateways = dict(gateways)

    def get(self, channel: Channel) -> ChannelGateway:
        gateway = self._gateways.get(channel)
        if gateway is None:
            raise ValidationFailed(f"支付渠道 {channel.value} 未开通", errors={"channel": "未开通"})
        return gateway

    def channels(self) -> list[Channel]:
        return list(self._gateways)
