"""Where each source's statement comes from: the channels' statement APIs (through their
gateways), and whose it must be (the merchant numbers of the stored channel accounts).

The bank counter's statement and the collection account's bank statement are imported (the
console's upload, `publicpay reconcile --file`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from publicpay.domain.payments.channels import Channel
from publicpay.domain.reconciliation import Source
from publicpay.services.payments.ports import Gateways

ALIPAY_BILL_SUFFIX = "0156"  # the bill's account is the partner id + 0156


class ChannelStatementSources:
    def __init__(
        self, gateways: Gateways, configs: Mapping[str, Mapping[str, Any]], collection: str
    ) -> None:
        self._gateways = gateways
        self._configs = configs
        self._collection = collection

    def merchant(self, source: Source) -> str | None:
        config = self._configs.get(source.value, {})
        if source is Source.ALIPAY:
            seller = str(config.get("seller_id", ""))
            return seller + ALIPAY_BILL_SUFFIX if seller else None
        if source is Source.WECHAT:
            return str(config.get("mchid", "")) or None
        if source is Source.UNIONPAY:
            return str(config.get("mer_id", "")) or None
        if source is Source.BANK:
            return self._collection or None
        return None

    def fetch(self, source: Source, day: date) -> bytes | None:
        if source not in (Source.ALIPAY, Source.WECHAT, Source.UNIONPAY):
            return None
        return self._gateways.get(Channel(source.value)).fetch_statement(day)
