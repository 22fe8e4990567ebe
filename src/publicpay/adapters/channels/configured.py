"""Build channel gateways from stored channel-account configurations (JSON, PEMs as text).

Keys of each channel's JSON (see docs/channels.md):

- alipay: app_id, app_private_key_pem, alipay_public_key_pem, gateway_url, [seller_id], [timeout_s]
- wechat: mchid, appid, merchant_serial_no, merchant_private_key_pem, apiv3_key,
  platform_public_key_pem, platform_public_key_id, base_url, [timeout_s],
  [codepay_poll_count], [codepay_poll_interval_s], [app_secret, oauth_base_url, sns_base_url]
  (the 公众号's web authorisation, for WeChat JSAPI payments inside WeChat)
- unionpay: mer_id, sign_cert_pem, sign_key_pem, unionpay_root_cert_pem, gateway_url,
  [timeout_s], [back_url]

UnionPay needs the original txnTime of every orderId it is asked about: pass `txn_times` (the
composition root passes `adapters.db.payments.txn_times.StoredTxnTimes`, backed by the orders and
refunds tables); without it the times live in memory and die with the process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

from publicpay.adapters.channels.alipay import AlipayConfig, AlipayGateway
from publicpay.adapters.channels.registry import Account, ChannelRegistry
from publicpay.adapters.channels.unionpay import UnionPayConfig, UnionPayGateway
from publicpay.adapters.channels.wechatpay import WechatPayConfig, WechatPayGateway
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository, StoredAccount
from publicpay.adapters.db.payments.txn_times import beijing_txn_time
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.ports import ChannelGateway

TxnTimes = MutableMapping[str, str]
log = logging.getLogger(__name__)


def _alipay(config: Mapping[str, Any]) -> ChannelGateway:
    return AlipayGateway(
        AlipayConfig(
            app_id=config["app_id"],
            app_private_key_pem=config["app_private_key_pem"].encode(),
            alipay_public_key_pem=config["alipay_public_key_pem"].encode(),
            gateway_url=config["gateway_url"],
            timeout_s=float(config.get("timeout_s", 5.0)),
            seller_id=str(config.get("seller_id", "")),
        )
    )


def _wechat(config: Mapping[str, Any]) -> ChannelGateway:
    return WechatPayGateway(
        WechatPayConfig(
            mchid=config["mchid"],
            appid=config["appid"],
            merchant_serial_no=config["merchant_serial_no"],
            merchant_private_key_pem=config["merchant_private_key_pem"].encode(),
            apiv3_key=config["apiv3_key"],
            platform_public_key_pem=config["platform_public_key_pem"].encode(),
            platform_public_key_id=config["platform_public_key_id"],
            base_url=config["base_url"],
            timeout_s=float(config.get("timeout_s", 5.0)),
            codepay_poll_count=int(config.get("codepay_poll_count", 10)),
            codepay_poll_interval_s=float(config.get("codepay_poll_interval_s", 3.0)),
            app_secret=str(config.get("app_secret", "")),
            oauth_base_url=str(config.get("oauth_base_url", "https://open.weixin.qq.com")),
            sns_base_url=str(config.get("sns_base_url", "https://api.weixin.qq.com")),
        )
    )


def _unionpay(config: Mapping[str, Any], txn_times: TxnTimes | None) -> ChannelGateway:
    return UnionPayGateway(
        UnionPayConfig(
            mer_id=config["mer_id"],
            sign_cert_pem=config["sign_cert_pem"].encode(),
            sign_key_pem=config["sign_key_pem"].encode(),
            unionpay_root_cert_pem=config["unionpay_root_cert_pem"].encode(),
            gateway_url=config["gateway_url"],
            timeout_s=float(config.get("timeout_s", 5.0)),
            back_url=str(config.get("back_url", "")),
        ),
        txn_times=txn_times,
    )


def build_gateway(
    channel: Channel, config: Mapping[str, Any], *, txn_times: TxnTimes | None = None
) -> ChannelGateway:
    """A gateway for one stored configuration; KeyError/ValueError when it is incomplete."""
    if channel is Channel.ALIPAY:
        return _alipay(config)
    if channel is Channel.WECHAT:
        return _wechat(config)
    if channel is Channel.UNIONPAY:
        return _unionpay(config, txn_times)
    raise ValueError(f"channel {channel} cannot be configured yet")


class _ProbeTimes(MutableMapping[str, str]):
    """For a validation probe only: any orderId 'was sent' now (UnionPay answers 34)."""

    def __getitem__(self, order_id: str) -> str:
        return beijing_txn_time(datetime.now(UTC))

    def __setitem__(self, order_id: str, txn_time: str) -> None:
        return None

    def __delitem__(self, order_id: str) -> None:
        return None

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def build_probe_gateway(channel: Channel, config: Mapping[str, Any]) -> ChannelGateway:
    """A gateway that can query an order it never sent (for `save_channel_account`'s test call)."""
    return build_gateway(channel, config, txn_times=_ProbeTimes())


def build_registry(
    configs: Mapping[str, Mapping[str, Any]], *, txn_times: TxnTimes | None = None
) -> ChannelRegistry:
    return ChannelRegistry(
        {
            Channel(name): build_gateway(Channel(name), cfg, txn_times=txn_times)
            for name, cfg in configs.items()
        }
    )


def build_scoped_registry(
    accounts: Sequence[StoredAccount],
    unit_regions: Mapping[int, tuple[str, str]],
    *,
    txn_times: TxnTimes | None = None,
) -> ChannelRegistry:
    """Every stored account (platform, region and unit scopes) becomes a gateway; an incomplete
    account is skipped with an error in the log rather than stopping the server."""
    built = []
    for a in accounts:
        if a.channel not in CONFIGURABLE:
            continue
        try:
            gateway = build_gateway(Channel(a.channel), a.config, txn_times=txn_times)
        except (KeyError, ValueError) as exc:
            log.error("channel account %s (%s %s) is incomplete: %r", a.id, a.channel, a.scope, exc)
            continue
        built.append(Account(a.id, Channel(a.channel), a.scope, gateway))
    return ChannelRegistry(accounts=built, unit_regions=unit_regions)


def load_registry(
    repo: ChannelAccountsRepository, *, txn_times: TxnTimes | None = None
) -> ChannelRegistry:
    return build_scoped_registry(repo.accounts(), repo.unit_regions(), txn_times=txn_times)


CONFIGURABLE = frozenset({Channel.ALIPAY.value, Channel.WECHAT.value, Channel.UNIONPAY.value})
