"""One entry point for every statement format: `parse_statement(source, content, ...)`."""

from __future__ import annotations

from datetime import date

from publicpay.adapters.reconciliation import alipay, bank, card, counter, unionpay, wechat
from publicpay.adapters.reconciliation.frames import ParsedStatement
from publicpay.domain.reconciliation import Source, StatementRefused


def parse_statement(
    source: Source, content: bytes, *, day: date, merchant: str | None
) -> ParsedStatement:
    """The checked statement of `day` from `merchant` (None: not checked), or StatementRefused."""
    if source is Source.ALIPAY:
        parsed = alipay.parse(content, expected_account=merchant)
    elif source is Source.WECHAT:
        parsed = wechat.parse(content, day=day, expected_mchid=merchant)
    elif source is Source.UNIONPAY:
        parsed = unionpay.parse(content, expected_mer_id=merchant)
    elif source is Source.CARD:
        parsed = card.parse(content, expected_mid=merchant)
    elif source is Source.COUNTER:
        parsed = counter.parse(content, day=day, bank=merchant or "")
    else:
        parsed = bank.parse(content, expected_account=merchant)
    if parsed.business_day != day:
        raise StatementRefused(f"对账单日期为 {parsed.business_day}，不是 {day}")
    return parsed
