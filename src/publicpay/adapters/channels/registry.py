"""The configured channel gateways: one per channel account, chosen per collecting unit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.accounts import PLATFORM, scope_chain
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.ports import ChannelGateway


@dataclass(frozen=True, slots=True)
class Account:
    id: int | None  # None: a default gateway not backed by a stored account (tests, tools)
    channel: Channel
    scope: str
    gateway: ChannelGateway


class ChannelRegistry:
    def __init__(
        self,
        defaults: Mapping[Channel, ChannelGateway] | None = None,
        *,
        accounts: Sequence[Account] = (),
        unit_regions: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        self._by_scope: dict[tuple[Channel, str], Account] = {
            (ch, PLATFORM): Account(None, ch, PLATFORM, gw) for ch, gw in (defaults or {}).items()
        }
        self._by_id: dict[int, Account] = {}
        for account in accounts:
            self._by_scope[(account.channel, account.scope)] = account
            if account.id is not None:
                self._by_id[account.id] = account
        self._unit_regions = dict(unit_regions or {})

    def get(self, channel: Channel) -> ChannelGateway:
        """The platform default account's gateway."""
        account = self._by_scope.get((channel, PLATFORM))
        if account is None:
            raise ValidationFailed(f"支付渠道 {channel.value} 未开通", errors={"channel": "未开通"})
        return account.gateway

    def for_unit(self, channel: Channel, unit_id: int) -> tuple[int | None, ChannelGateway]:
        """The most specific account for the unit: its own, its regions', the platform's."""
        unit = self._unit_regions.get(unit_id)
        scopes = scope_chain(*unit) if unit else [PLATFORM]
        for scope in scopes:
            account = self._by_scope.get((channel, scope))
            if account is not None:
                return account.id, account.gateway
        return None, self.get(channel)

    def for_account(self, channel: Channel, account_id: int | None) -> ChannelGateway:
        """The gateway of the account an order was opened with (the default when unknown)."""
        account = self._by_id.get(account_id) if account_id is not None else None
        if account is not None and account.channel is channel:
            return account.gateway
        return self.get(channel)

    def channels(self) -> list[Channel]:
        return list(dict.fromkeys(channel for channel, _ in self._by_scope))
