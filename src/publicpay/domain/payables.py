"""Payables (应缴款): no business, no payable. Pricing, payer checks, states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from publicpay.domain.catalogue import FeeItem
from publicpay.domain.codes import is_valid_citizen_id, is_valid_credit_code
from publicpay.domain.errors import (
    DomainError,
    InvalidTransition,
    ItemNotAuthorised,
    ValidationFailed,
)
from publicpay.domain.events import DomainEvent
from publicpay.domain.fees import late_fee_fen
from publicpay.domain.ledger import Journal, Share
from publicpay.domain.payments.orders import Order


class PayableStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


_TRANSITIONS: Mapping[PayableStatus, frozenset[PayableStatus]] = {
    PayableStatus.UNPAID: frozenset(
        {PayableStatus.PAID, PayableStatus.CANCELLED, PayableStatus.EXPIRED}
    ),
    PayableStatus.PAID: frozenset({PayableStatus.PARTIALLY_REFUNDED, PayableStatus.REFUNDED}),
    PayableStatus.PARTIALLY_REFUNDED: frozenset(
        {PayableStatus.PARTIALLY_REFUNDED, PayableStatus.REFUNDED}
    ),
    PayableStatus.REFUNDED: frozenset(),
    PayableStatus.CANCELLED: frozenset(),
    PayableStatus.EXPIRED: frozenset(),
}

_STATUS_LABELS = {
    PayableStatus.UNPAID: "待缴款",
    PayableStatus.PAID: "已缴款",
    PayableStatus.PARTIALLY_REFUNDED: "部分退款",
    PayableStatus.REFUNDED: "已退款",
    PayableStatus.CANCELLED: "已撤销",
    PayableStatus.EXPIRED: "已过期",
}


def status_label(status: PayableStatus) -> str:
    return _STATUS_LABELS[status]


def check_transition(current: PayableStatus, target: PayableStatus) -> None:
    if target not in _TRANSITIONS[current]:
        raise InvalidTransition(
            f"缴款单当前状态为「{status_label(current)}」，不能变为「{status_label(target)}」"
        )


def check_reversal(current: PayableStatus) -> None:
    """冲正 is the one way back from PAID to UNPAID, kept out of the transition table on purpose:
    only a bank's same-day reversal of the payment that settled the payable may take it."""
    if current is not PayableStatus.PAID:
        raise InvalidTransition(f"缴款单当前状态为「{status_label(current)}」，不能冲正")


# Associated data binding a payer's encrypted ID number (`payer_id_enc`) to its purpose.
PAYER_ID_CONTEXT = b"payer_id"


class PayerType(StrEnum):
    PERSON = "person"
    ORG = "org"


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    type: PayerType
    id_no: str
    phone: str | None = None

    def validate(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.name.strip() or len(self.name) > 100:
            errors["payer.name"] = "缴款人名称不能为空且不超过100字"
        if self.type is PayerType.PERSON and not is_valid_citizen_id(self.id_no):
            errors["payer.id_no"] = "公民身份号码无效（GB 11643 校验失败）"
        if self.type is PayerType.ORG and not is_valid_credit_code(self.id_no):
            errors["payer.id_no"] = "统一社会信用代码无效（GB 32100 校验失败）"
        if self.phone is not None and not (
            self.phone.isascii() and self.phone.isdigit() and len(self.phone) == 11
        ):
            errors["payer.phone"] = "手机号码应为11位数字"
        return errors


@dataclass(frozen=True, slots=True)
class LineRequest:
    item_code: str
    quantity: int = 1
    amount_fen: int | None = None


@dataclass(frozen=True, slots=True)
class PayableLine:
    item_code: str
    item_name: str
    unit_of_measure: str
    quantity: int
    standard_fen: int
    amount_fen: int


def price_lines(
    requests: Sequence[LineRequest],
    items: Mapping[str, FeeItem],
    authorised: frozenset[str] | set[str],
    business_date: date,
) -> list[PayableLine]:
    """Price each line from the catalogue; every refusal is reported per field."""
    if not requests:
        raise ValidationFailed("至少需要一个收费项目", errors={"items": "不能为空"})
    lines: list[PayableLine] = []
    errors: dict[str, str] = {}
    unauthorised: list[str] = []
    for index, req in enumerate(requests):
        field = f"items[{index}]"
        item = items.get(req.item_code)
        if item is None:
            errors[f"{field}.item_code"] = f"收费项目 {req.item_code} 不存在"
            continue
        if req.item_code not in authorised:
            unauthorised.append(req.item_code)
            errors[f"{field}.item_code"] = f"单位未获授权收取项目 {req.item_code}"
            continue
        try:
            standard_fen, amount = item.price(req.quantity, req.amount_fen, business_date)
        except DomainError as exc:
            errors[f"{field}.amount_fen"] = exc.detail
            continue
        lines.append(
            PayableLine(
                req.item_code, item.name, item.unit_of_measure, req.quantity, standard_fen, amount
            )
        )
    if unauthorised and len(errors) == len(unauthorised):
        raise ItemNotAuthorised(f"单位未获授权收取项目：{'、'.join(unauthorised)}", errors=errors)
    if errors:
        raise ValidationFailed("收费项目校验未通过", errors=errors)
    return lines


def amount_due_fen(
    lines: Sequence[PayableLine],
    items: Mapping[str, FeeItem],
    due_date: date | None,
    on_date: date,
) -> int:
    """What the payer owes on `on_date`: the lines plus the late fee on fines past the due date."""
    base = sum(line.amount_fen for line in lines)
    if due_date is None:
        return base
    fines = sum(
        line.amount_fen
        for line in lines
        if line.item_code in items and items[line.item_code].is_fine
    )
    return base + (late_fee_fen(fines, due_date, on_date) if fines else 0)


@dataclass(slots=True)
class Payable:
    """A registered payable as stored (payer id only in its masked form here)."""

    id: int
    payment_code: str
    unit_id: int
    biz_no: str
    payer_name: str
    payer_type: PayerType
    payer_id_masked: str
    amount_fen: int
    status: PayableStatus
    due_date: date | None
    remark: str
    lines: list[PayableLine]
    request_hash: str = ""
    channel: str | None = None
    paid_fen: int | None = None
    paid_order_id: int | None = None
    refunded_fen: int = 0
    created_at: datetime | None = None  # UTC
    paid_at: datetime | None = None

    def registered(
        self, *, actor: str, at: datetime, batch_id: int | None = None
    ) -> list[DomainEvent]:
        """A business system (or a batch, or the console) registered this payable."""
        return [PayableRegistered(self, actor, batch_id, at)]

    def cancel(self, *, actor: str, at: datetime) -> list[DomainEvent]:
        """Cancelled by its unit; only while unpaid."""
        check_transition(self.status, PayableStatus.CANCELLED)
        self.status = PayableStatus.CANCELLED
        return [PayableCancelled(self, actor, at)]

    def mark_paid(
        self, order: Order, shares: Sequence[Share], *, at: datetime
    ) -> list[DomainEvent]:
        """Settled by `order` (which succeeded); `shares`: the payment split by budget level."""
        check_transition(self.status, PayableStatus.PAID)
        self.status = PayableStatus.PAID
        self.paid_at = order.paid_at
        self.paid_fen = order.amount_fen
        self.paid_order_id = order.id
        self.channel = order.channel
        return [PayablePaid(self, order, tuple(shares), at)]

    def take_duplicate(self, order: Order, *, refund_no: str, at: datetime) -> list[DomainEvent]:
        """重复支付: `order` succeeded, but this payable was already settled (or cancelled,
        expired): the money is owed back to the payer and refunded as `refund_no`."""
        closed = self.status in (PayableStatus.CANCELLED, PayableStatus.EXPIRED)
        return [DuplicatePayment(self, order, refund_no, for_closed_payable=closed, at=at)]

    def reverse(
        self, order: Order, payment: Journal, *, by: str, reason: str, at: datetime
    ) -> list[DomainEvent]:
        """冲正: the bank undid the counter payment that settled this payable, the same day;
        unpaid again. `payment`: that payment's journal, negated by the reversal."""
        check_reversal(self.status)
        self.status = PayableStatus.UNPAID
        self.paid_at = self.paid_fen = self.paid_order_id = self.channel = None
        return [PayableReversed(self, order, payment, by, reason, at)]

    def record_refund(
        self,
        refund_no: str,
        amount_fen: int,
        returned: Sequence[Share],
        *,
        reason: str,
        at: datetime,
    ) -> list[DomainEvent]:
        """A refund of `amount_fen` was paid out; `returned`: the slices it takes back."""
        paid = self.paid_fen or 0
        if amount_fen <= 0 or self.refunded_fen + amount_fen > paid:
            raise InvalidTransition(
                f"退款后累计 {self.refunded_fen + amount_fen} 分将超过实缴 {paid} 分"
            )
        self.refunded_fen += amount_fen
        target = (
            PayableStatus.REFUNDED
            if self.refunded_fen == paid
            else PayableStatus.PARTIALLY_REFUNDED
        )
        check_transition(self.status, target)
        self.status = target
        return [PayableRefunded(self, refund_no, amount_fen, tuple(returned), reason, at)]


@dataclass(frozen=True, slots=True)
class PayableRegistered(DomainEvent):
    payable: Payable
    actor: str
    batch_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PayableCancelled(DomainEvent):
    payable: Payable
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PayablePaid(DomainEvent):
    payable: Payable
    order: Order
    shares: tuple[Share, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class DuplicatePayment(DomainEvent):
    payable: Payable
    order: Order
    refund_no: str
    for_closed_payable: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class PayableReversed(DomainEvent):
    payable: Payable
    order: Order
    payment: Journal
    by: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PayableRefunded(DomainEvent):
    payable: Payable
    refund_no: str
    amount_fen: int
    returned: tuple[Share, ...]
    reason: str
    at: datetime


def payment_shares(
    lines: Sequence[PayableLine], items: Mapping[str, FeeItem], paid_fen: int
) -> list[Share]:
    """Split a payment by item, budget level and destination. Anything above the lines (a fine's
    late fee, 加处罚款) follows the first fine's split; it is 罚没收入 as well."""
    shares: list[Share] = []
    for item, amount in item_amounts(lines, items, paid_fen):
        for level, part in item.split.apply(amount).items():
            if part:
                shares.append(Share(item.destination, level, part))
    return shares


def item_amounts(
    lines: Sequence[PayableLine], items: Mapping[str, FeeItem], paid_fen: int
) -> list[tuple[FeeItem, int]]:
    """What each line's item received of a payment (the late fee goes with the first fine)."""
    base = sum(line.amount_fen for line in lines)
    if paid_fen < base:
        raise ValidationFailed(f"实缴金额 {paid_fen} 分小于应缴 {base} 分")
    extra = paid_fen - base
    amounts: list[tuple[FeeItem, int]] = []
    for line in lines:
        item = items[line.item_code]
        amount = line.amount_fen
        if extra and item.is_fine:
            amount, extra = amount + extra, 0
        amounts.append((item, amount))
    if extra:
        raise ValidationFailed("加处罚款只适用于罚没项目")
    return amounts


def due_now(payable: Payable, items: Mapping[str, FeeItem], on_date: date) -> int:
    """What the payer owes today: late fees grow only while unpaid; afterwards what was paid."""
    if payable.status is PayableStatus.UNPAID:
        return amount_due_fen(payable.lines, items, payable.due_date, on_date)
    return payable.paid_fen if payable.paid_fen is not None else payable.amount_fen


# --- statistics (issue 10): what the keyed hash of a phone, for search, is taken over ---------


def phone_search_key(phone: str) -> str:
    """A phone number's digits (so "138 0013 8000" finds "13800138000")."""
    return "phone:" + "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
