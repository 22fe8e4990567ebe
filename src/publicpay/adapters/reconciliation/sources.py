"""Where each source's statement comes from: the channels' statement APIs (through their
gateways), the card acquirer's settlement file (`CardTerminalHost.fetch_settlement`), the
collecting bank's statement service (the bank counter's statement and the
collection account's statement, `bank_client.HttpBankStatements`), and whose each must be (the
merchant numbers of the stored channel accounts, the collection account). Any of them may also
be imported (the console's upload, `publicpay reconcile --file`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from publicpay.adapters.channels.card_terminal import CardTerminalHost
from publicpay.adapters.reconciliation.bank_client import HttpBankStatements
from publicpay.domain.payments.channels import Channel
from publicpay.domain.reconciliation import Source
from publicpay.services.payments.ports import Gateways

ALIPAY_BILL_SUFFIX = "0156"  # the bill's account is the partner id + 0156


class ChannelStatementSources:
    def __init__(
        self,
        gateways: Gateways,
        configs: Mapping[str, Mapping[str, Any]],
        collection: str,
        bank: HttpBankStatements | None = None,
        card: CardTerminalHost | None = None,
    ) -> None:
        self._gateways = gateways
        self._configs = configs
        self._collection = collection
        self._bank = bank
        self._card = card

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
        if source is Source.CARD:
            return None if self._card is None else self._card.merchant_id
        return None

    def fetch(self, source: Source, day: date) -> bytes | None:
        if source is Source.CARD:
            # no acquirer configured: no card payments, the file can still be imported
            return None if self._card is None else self._card.fetch_settlement(day)
        if source in (Source.COUNTER, Source.BANK):
            if self._bank is None:
                return None  # no statement service configured: imported only
            return self._bank.fetch("counter" if source is Source.COUNTER else "collection", day)
        return self._gateways.get(Channel(source.value)).fetch_statement(day)
