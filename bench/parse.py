"""The channel adapters alone: `parse_notification` (verify; WeChat also decrypts) per second,
single-threaded, on the gateways `publicpay serve` builds from the stored channel accounts."""

from __future__ import annotations

import time
import uuid

from bench.channels import ChannelKeys
from bench.database import BenchDb
from publicpay.adapters.channels.configured import build_registry
from publicpay.domain.payments.channels import Channel


def parse_rates(db: BenchDb, keys: ChannelKeys, count: int) -> dict[str, float]:
    container = db.container()
    try:
        with container.uow() as uow:
            registry = build_registry(uow.channel_accounts.all())
    finally:
        container.close()
    rates: dict[str, float] = {}
    url = "http://127.0.0.1/api/v1/notify/wechat"
    for channel in (Channel.ALIPAY, Channel.WECHAT):
        gateway = registry.get(channel)
        notes = [
            keys.alipay_notification(f"P{uuid.uuid4().hex[:20]}", 10000)
            if channel is Channel.ALIPAY
            else keys.wechat_notification(f"P{uuid.uuid4().hex[:20]}", 10000, url)
            for _ in range(count)
        ]
        started = time.perf_counter()
        for body, headers in notes:
            gateway.parse_notification(headers, body)
        rates[channel.value] = count / (time.perf_counter() - started)
    return rates
