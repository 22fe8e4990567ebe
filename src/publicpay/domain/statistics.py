"""What the finance console's lists, statistics and exports show: the Chinese labels of codes,
the periods a statistic covers, and the online rate (spec M2). Pure rules; the SQL is in
`adapters/db/queries/`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from publicpay.domain.catalogue import BudgetLevel
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.events import DeliveryStatus
from publicpay.domain.ledger import SPECIAL_ACCOUNT, Journal, JournalKind, treasury_payable
from publicpay.domain.payables import Payable, PayableStatus, status_label
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.domain.receipts.receipts import ReceiptKind, ReceiptStatus
from publicpay.domain.time import SHANGHAI

CHANNEL_LABELS = {
    Channel.ALIPAY: "支付宝",
    Channel.WECHAT: "微信支付",
    Channel.UNIONPAY: "云闪付",
    Channel.COUNTER: "银行柜面",
    Channel.CASH: "现金",
    Channel.CARD: "银行卡",
}
METHOD_LABELS = {
    OrderMethod.QR: "扫码",
    OrderMethod.BARCODE: "付款码",
    OrderMethod.COUNTER: "柜面",
    OrderMethod.CASH: "现金",
    OrderMethod.CARD: "银行卡",
    OrderMethod.WAP: "手机网站",
    OrderMethod.H5: "微信H5",
    OrderMethod.JSAPI: "公众号",
}
ORDER_STATUS_LABELS = {
    OrderStatus.PAYING: "支付中",
    OrderStatus.SUCCEEDED: "支付成功",
    OrderStatus.CLOSED: "已关闭",
    OrderStatus.FAILED: "失败",
    OrderStatus.REVERSED: "已冲正",
}
PAYABLE_STATUS_LABELS = {s: status_label(s) for s in PayableStatus}
RECEIPT_STATUS_LABELS = {s: s.label for s in ReceiptStatus}
RECEIPT_KIND_LABELS = {k: k.label for k in ReceiptKind}
DELIVERY_LABELS = {
    DeliveryStatus.PENDING: "待推送",
    DeliveryStatus.DELIVERED: "已送达",
    DeliveryStatus.FAILED: "推送失败",
    DeliveryStatus.NONE: "不推送",
}
LEVEL_LABELS = {level: level.label for level in BudgetLevel}
MAX_PERIOD_DAYS = 366


class Dimension(StrEnum):
    """What a statistic is grouped by."""

    CHANNEL = "channel"
    UNIT = "unit"
    SITE = "site"
    WINDOW = "window"
    ITEM = "item"
    LEVEL = "level"
    REGION = "region"
    DEVICE = "device"

    @property
    def label(self) -> str:
        return _DIMENSION_LABELS[self]


_DIMENSION_LABELS = {
    Dimension.CHANNEL: "支付渠道",
    Dimension.UNIT: "执收单位",
    Dimension.SITE: "办理网点",
    Dimension.WINDOW: "收费窗口",
    Dimension.ITEM: "收费项目",
    Dimension.LEVEL: "预算级次",
    Dimension.REGION: "行政区划",
    Dimension.DEVICE: "终端设备",
}


@dataclass(frozen=True, slots=True)
class Period:
    """Business days `first`..`last` (Asia/Shanghai), both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), SHANGHAI)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), SHANGHAI)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def single_day(self) -> bool:
        return self.first == self.last


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", errors={name: text[:40]}) from None


def period_of(date_from: str, date_to: str, today: date) -> Period:
    """The period a console user asked for: today when nothing is given; refused when the dates
    are malformed, reversed or more than a year apart."""
    first = parse_day(date_from, "date_from") if date_from else today
    last = parse_day(date_to, "date_to") if date_to else max(first, today)
    if last < first:
        raise ValidationFailed("结束日期早于开始日期", errors={"date_to": last.isoformat()})
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed("统计期间最长一年", errors={"date_to": last.isoformat()})
    return Period(first, last)


# --- what one payment adds to the statistics' summary rows --------------------------------------

LEVEL_ACCOUNTS = frozenset([treasury_payable(level) for level in BudgetLevel] + [SPECIAL_ACCOUNT])


@dataclass(frozen=True, slots=True)
class PaymentTally:
    """One succeeded payment as the statistics count it (`sign` -1: a reversal takes it back):
    its business day and hour (Asia/Shanghai) of `paid_at`, where it was taken (0: nowhere),
    its amount, its amount per fee item (one entry per item) and the payment journal's credits
    per budget level and to the special account (none for a duplicate payment)."""

    day: date
    hour: int
    unit_id: int
    channel: str
    site_id: int
    window_id: int
    device_id: int
    amount_fen: int
    items: tuple[tuple[str, str, int], ...]  # (item code, item name, amount)
    accounts: tuple[tuple[str, int], ...]  # (ledger account, credited amount)
    sign: int = 1


def payment_tally(
    payable: Payable, order: Order, journal: Journal | None, *, sign: int = 1
) -> PaymentTally:
    """What `order` (succeeded, for `payable`) counts in the statistics; `journal`: its payment
    journal (None for a duplicate payment, which is owed back and has no budget shares)."""
    assert order.paid_at is not None, order.order_no
    local = order.paid_at.astimezone(SHANGHAI)
    items: dict[str, tuple[str, int]] = {}
    for line in payable.lines:
        name, amount = items.get(line.item_code, (line.item_name, 0))
        items[line.item_code] = (name, amount + line.amount_fen)
    accounts = (
        tuple((p.account, -p.amount_fen) for p in journal.postings if p.account in LEVEL_ACCOUNTS)
        if journal is not None
        else ()
    )
    return PaymentTally(
        day=local.date(),
        hour=local.hour,
        unit_id=payable.unit_id,
        channel=order.channel,
        site_id=order.site_id or 0,
        window_id=order.window_id or 0,
        device_id=order.device_id or 0,
        amount_fen=order.amount_fen,
        items=tuple((code, name, amount) for code, (name, amount) in sorted(items.items())),
        accounts=tuple(sorted(accounts)),
        sign=sign,
    )


HourKey = tuple[
    date, int, int, str, int, int, int
]  # day, hour, unit, channel, site, window, device
ItemKey = tuple[date, int, str, str]  # day, unit, channel, item code
LevelKey = tuple[date, int, str, str]  # day, unit, channel, ledger account


@dataclass(frozen=True, slots=True)
class SummaryChanges:
    """What a set of tallies adds to each summary, key by key: (payments, amount) — and for a
    fee item, the name it was last paid under. Keys whose changes cancel out are left out."""

    hourly: dict[HourKey, tuple[int, int]]
    items: dict[ItemKey, tuple[str, int, int]]
    levels: dict[LevelKey, tuple[int, int]]

    @property
    def empty(self) -> bool:
        return not (self.hourly or self.items or self.levels)


def summary_changes(tallies: Iterable[PaymentTally]) -> SummaryChanges:
    """The tallies summed per summary row (the worker folds them in with one upsert each)."""
    hourly: dict[HourKey, list[int]] = {}
    items: dict[ItemKey, list[Any]] = {}
    levels: dict[LevelKey, list[int]] = {}
    for t in tallies:
        where = (t.day, t.unit_id, t.channel)
        hour = hourly.setdefault(
            (t.day, t.hour, t.unit_id, t.channel, t.site_id, t.window_id, t.device_id), [0, 0]
        )
        hour[0] += t.sign
        hour[1] += t.sign * t.amount_fen
        for code, name, amount in t.items:
            item = items.setdefault((*where, code), ["", 0, 0])
            item[0] = name
            item[1] += t.sign
            item[2] += t.sign * amount
        for account, amount in t.accounts:
            level = levels.setdefault((*where, account), [0, 0])
            level[0] += t.sign
            level[1] += t.sign * amount
    return SummaryChanges(
        hourly={k: (n, fen) for k, (n, fen) in hourly.items() if n or fen},
        items={k: (name, n, fen) for k, (name, n, fen) in items.items() if n or fen},
        levels={k: (n, fen) for k, (n, fen) in levels.items() if n or fen},
    )


def online_rate(total_fen: int, cash_fen: int) -> float | None:
    """The share of the amount not paid in cash (在线缴费率), None when nothing was paid."""
    if total_fen <= 0:
        return None
    return (total_fen - cash_fen) / total_fen


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# What the history of a payable shows for each audited action about it.
ACTION_LABELS = {
    "payable.register": "登记",
    "payable.cancel": "撤销",
    "payable.paid": "缴款成功",
    "payment.duplicate": "重复缴款（自动退款）",
    "payment.reversed": "冲正",
    "receipt.issued": "开具电子票据",
    "receipt.printed": "打印票据",
    "receipt.booked": "票据入账",
    "refund.requested": "申请退款",
    "refund.succeeded": "退款成功",
    "refund.failed": "退款失败",
    "refund.manual": "人工退款",
}
JOURNAL_LABELS = {
    JournalKind.PAYMENT: "缴款入账",
    JournalKind.DUPLICATE_PAYMENT: "重复缴款",
    JournalKind.REFUND: "退款",
    JournalKind.CORRECTION: "更正",
    JournalKind.REVERSAL: "冲正",
    JournalKind.REFUND_TRANSFER: "转账退款付出（汇缴户）",
}
