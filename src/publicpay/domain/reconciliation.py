"""Reconciliation (对账): statements, match classes, exceptions and their workflow.

A statement is one source's record of one business day (Asia/Shanghai): a channel's trade bill
(Alipay, WeChat Pay, UnionPay), the bank counter's statement, the card acquirer's settlement
file (window POS bank cards), or the collection account's bank
statement (汇缴户). Its lines are matched against the platform's orders and refunds; every line
gets a class, and what does not match becomes an exception that a finance user resolves and a
second person reviews.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from publicpay.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidTransition,
    ValidationFailed,
)
from publicpay.domain.events import DomainEvent
from publicpay.domain.ledger import (
    COLLECTION,
    SUSPENSE,
    WRITE_OFF_INCOME,
    WRITE_OFF_LOSS,
    channel_receivable,
)
from publicpay.domain.refunds import Refund


class Source(StrEnum):
    """Who sent the statement."""

    ALIPAY = "alipay"
    WECHAT = "wechat"
    UNIONPAY = "unionpay"
    COUNTER = "counter"  # the collecting bank's counter statement (银行柜面)
    CARD = "card"  # the card acquirer's settlement file of the window POS terminals (银行卡收单)
    BANK = "bank"  # the collection account's bank statement (汇缴户对账单)

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS: Mapping[Source, str] = {
    Source.ALIPAY: "支付宝",
    Source.WECHAT: "微信支付",
    Source.UNIONPAY: "银联",
    Source.COUNTER: "银行柜面",
    Source.CARD: "银行卡收单",
    Source.BANK: "汇缴户银行流水",
}

CHANNEL_SOURCES = (Source.ALIPAY, Source.WECHAT, Source.UNIONPAY, Source.COUNTER, Source.CARD)


class LineKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"  # money back to the payer (退款, 退货, 冲正/撤销)
    CREDIT = "credit"  # a credit on the collection account
    DEBIT = "debit"  # a debit on the collection account


class MatchClass(StrEnum):
    """What matching found for a line or an order (domain notes §7)."""

    MATCHED = "matched"  # 平账
    CHANNEL_ONLY = "channel_only"  # 长款: the channel has a success the platform lacks
    PLATFORM_ONLY = "platform_only"  # 短款: the platform has a success the channel lacks
    AMOUNT_MISMATCH = "amount_mismatch"  # 金额不符
    STATUS_MISMATCH = "status_mismatch"  # 状态不符 (e.g. a refund the platform does not know)
    DUPLICATE = "duplicate"  # 重复支付: a second payment of one payable
    UNKNOWN_CREDIT = "unknown_credit"  # 不明款: a bank credit nobody can be matched to
    HOLDING = "holding"  # cut-off: waits in the holding pool for the next days' statements

    @property
    def label(self) -> str:
        return CLASS_LABELS[self]


CLASS_LABELS: Mapping[MatchClass, str] = {
    MatchClass.MATCHED: "平账",
    MatchClass.CHANNEL_ONLY: "长款（渠道单边）",
    MatchClass.PLATFORM_ONLY: "短款（平台单边）",
    MatchClass.AMOUNT_MISMATCH: "金额不符",
    MatchClass.STATUS_MISMATCH: "状态不符",
    MatchClass.DUPLICATE: "重复支付",
    MatchClass.UNKNOWN_CREDIT: "不明款（待处理）",
    MatchClass.HOLDING: "挂账待核（日切差异）",
}

EXCEPTION_CLASSES = frozenset(MatchClass) - {MatchClass.MATCHED, MatchClass.HOLDING}


class StatementRefused(DomainError):
    """A statement file that cannot be accepted: nothing of it is stored."""

    code = "statement_refused"
    title = "对账单不能接受"

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        where = f"第 {line} 行：" if line is not None else ""
        super().__init__(f"{where}{reason}", errors={"file": f"{where}{reason}"})
        self.line = line
        self.reason = reason


class DayNotReconciled(Conflict):
    code = "day_not_reconciled"
    title = "该日尚未对平"


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """What a statement's own totals lines say (fen), checked against its rows by the parser."""

    payments: int = 0
    payment_count: int = 0
    refunds: int = 0
    refund_count: int = 0
    fees: int = 0  # fees the channel kept (positive)
    credits: int = 0  # bank statements
    debits: int = 0

    @property
    def net(self) -> int:
        return self.payments - self.refunds - self.fees


class DayStatus(StrEnum):
    RECONCILED = "reconciled"  # every line matched, or every exception closed
    EXCEPTIONS = "exceptions"  # open exceptions
    MISSING = "missing"  # no statement yet (the channel has not published it)

    @property
    def label(self) -> str:
        return {"reconciled": "已对平", "exceptions": "有差错", "missing": "待获取对账单"}[self]


@dataclass(slots=True)
class StatementRecord:
    """A stored statement (its lines are stored beside it)."""

    id: int
    source: Source
    business_day: date
    merchant: str
    digest: str
    line_count: int
    totals: Mapping[str, int]
    imported_at: datetime
    imported_by: str
    content: bytes = b""


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One source's business day as the last run left it."""

    source: Source
    business_day: date
    statement_id: int | None
    status: str  # DayStatus
    lines: int
    matched: int
    counts: Mapping[str, int]
    gross_fen: int  # payments minus refunds per the statement
    fee_fen: int
    run_at: datetime
    run_by: str


@dataclass(frozen=True, slots=True)
class LineResult:
    """One statement line with what matching found."""

    line_no: int
    kind: str
    order_no: str | None
    refund_no: str | None
    trade_no: str
    amount_fen: int
    fee_fen: int
    at: str
    match_class: MatchClass
    order_id: int | None
    refund_id: int | None


@dataclass(frozen=True, slots=True)
class PlatformOnly:
    key: str
    order_no: str | None
    order_id: int | None
    refund_id: int | None
    amount_fen: int
    match_class: MatchClass


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    lines: tuple[LineResult, ...]
    platform_only: tuple[PlatformOnly, ...]
    counts: Mapping[str, int]
    duplicate_refunds: Mapping[int, str]  # order id → the automatic refund of a second payment


# -- exceptions and their workflow ----------------------------------------------------------


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # resolved, waiting for a second person's review
    CLOSED = "closed"  # reviewed and accepted
    HOLDING = "holding"  # in the holding pool (cut-off difference), ages into OPEN
    RELEASED = "released"  # a held item that a later statement matched

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: Mapping[ExceptionStatus, str] = {
    ExceptionStatus.OPEN: "待处理",
    ExceptionStatus.RESOLVED: "待复核",
    ExceptionStatus.CLOSED: "已办结",
    ExceptionStatus.HOLDING: "挂账观察",
    ExceptionStatus.RELEASED: "已自动核平",
}

UNRESOLVED = frozenset({ExceptionStatus.OPEN, ExceptionStatus.RESOLVED})


class Action(StrEnum):
    RECOVER = "recover"  # 补单: query the channel, mark the payment paid (receipt, webhook)
    REFUND = "refund"  # 退款: return the money to the payer through the original channel
    WRITE_OFF = "write_off"  # 核销: the difference booked to income/loss, or to suspense
    ACCEPT = "accept"  # 确认无误: the difference is explained, no money moves

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: Mapping[Action, str] = {
    Action.RECOVER: "补单（查询渠道后确认缴款）",
    Action.REFUND: "原路退款",
    Action.WRITE_OFF: "核销（记核销收益/损失或待处理）",
    Action.ACCEPT: "确认无误（不动账）",
}

# What may be done about each class.
ACTIONS: Mapping[MatchClass, frozenset[Action]] = {
    MatchClass.CHANNEL_ONLY: frozenset(
        {Action.RECOVER, Action.REFUND, Action.WRITE_OFF, Action.ACCEPT}
    ),
    MatchClass.PLATFORM_ONLY: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.AMOUNT_MISMATCH: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.STATUS_MISMATCH: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.DUPLICATE: frozenset({Action.REFUND, Action.ACCEPT}),
    MatchClass.UNKNOWN_CREDIT: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
}

MIN_REASON_CHARS = 4
DEFAULT_WRITE_OFF_LIMIT_FEN = 10_000  # a write-off to income or loss: at most 100.00 yuan


class LineResolution(StrEnum):
    """How a statement line that did not match was closed (the line keeps its class)."""

    RECOVERED = "recovered"
    REFUNDED = "refunded"
    WRITTEN_OFF = "written_off"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return RESOLUTION_LABELS[self]


RESOLUTION_LABELS: Mapping[LineResolution, str] = {
    LineResolution.RECOVERED: "已补单",
    LineResolution.REFUNDED: "已原路退款",
    LineResolution.WRITTEN_OFF: "已核销",
    LineResolution.ACCEPTED: "已确认无误",
}
RESOLUTION_OF: Mapping[Action, LineResolution] = {
    Action.RECOVER: LineResolution.RECOVERED,
    Action.REFUND: LineResolution.REFUNDED,
    Action.WRITE_OFF: LineResolution.WRITTEN_OFF,
    Action.ACCEPT: LineResolution.ACCEPTED,
}


class WriteOffOverLimit(Conflict):
    code = "write_off_over_limit"
    title = "核销金额超过限额"


@dataclass(frozen=True, slots=True)
class WriteOff:
    """What a write-off books: `amount_fen` from `credit` to `debit` (核销)."""

    debit: str
    credit: str
    amount_fen: int
    to_suspense: bool  # parked as 待处理 (no limit) rather than income or loss

    def as_dict(self) -> dict[str, object]:
        return {
            "debit": self.debit,
            "credit": self.credit,
            "amount_fen": self.amount_fen,
            "to_suspense": self.to_suspense,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> WriteOff:
        amount = d["amount_fen"]
        assert isinstance(amount, int)
        return cls(str(d["debit"]), str(d["credit"]), amount, bool(d["to_suspense"]))


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"action": message})


def plan_write_off(item: ReconException, *, platform_fen: int | None, limit_fen: int) -> WriteOff:
    """What writing `item` off books (domain notes §7):

    - an unidentified bank credit (不明款): collection account → suspense (待处理);
    - a channel-only payment (长款) nobody claims: channel receivable → suspense;
    - a difference with the channel (amount mismatch, a short payment or refund, a refund the
      platform does not know): the channel's receivable is corrected against write-off income
      (the channel pays more) or write-off loss (it pays less), at most `limit_fen`.
    `platform_fen`: what the platform booked for the line's order or refund (amount mismatch).
    """
    channel = channel_receivable(item.source.value)
    if item.match_class is MatchClass.UNKNOWN_CREDIT:
        return WriteOff(COLLECTION, SUSPENSE, item.amount_fen, True)
    if item.source is Source.BANK:
        raise _refused("汇缴户流水的该类差错不能核销：请核实原因后选择“确认无误”")
    if item.match_class is MatchClass.CHANNEL_ONLY:
        return WriteOff(channel, SUSPENSE, item.amount_fen, True)
    refund = item.detail.get("kind") == LineKind.REFUND.value or (
        bool(item.detail.get("platform_only")) and item.order_no is None
    )
    if item.match_class is MatchClass.AMOUNT_MISMATCH:
        if platform_fen is None:
            raise _refused("找不到本平台对应的订单或退款，不能核销金额差异")
        delta = item.amount_fen - platform_fen
        delta = -delta if refund else delta
    elif item.match_class is MatchClass.PLATFORM_ONLY:
        delta = item.amount_fen if refund else -item.amount_fen
    elif item.match_class is MatchClass.STATUS_MISMATCH and refund:
        delta = -item.amount_fen  # the channel paid a refund out that the platform does not book
    else:
        raise _refused(f"“{item.match_class.label}”不能核销")
    if delta == 0:
        raise _refused("没有差额可核销，请选择“确认无误”")
    if abs(delta) > limit_fen:
        raise WriteOffOverLimit(
            f"核销金额 {abs(delta) / 100:.2f} 元超过限额 {limit_fen / 100:.2f} 元"
            f"（{abs(delta)} 分 > {limit_fen} 分），请查明原因后处理",
            errors={"action": f"最多可核销 {limit_fen} 分"},
        )
    if delta > 0:
        return WriteOff(channel, WRITE_OFF_INCOME, delta, False)
    return WriteOff(WRITE_OFF_LOSS, channel, -delta, False)


@dataclass(frozen=True, slots=True)
class ExceptionResolved(DomainEvent):
    exception_id: int
    action: Action
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExceptionReviewed(DomainEvent):
    exception_id: int
    approved: bool
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DifferenceWrittenOff(DomainEvent):
    """A reviewed write-off: its journal is posted."""

    exception_id: int
    business_day: date
    write_off: WriteOff
    reason: str
    actor: str  # the reviewer who confirmed it
    at: datetime


@dataclass(frozen=True, slots=True)
class ExceptionRefundBooked(DomainEvent):
    """A reviewed refund of money that settles no payable: booked as owed back to the payer and
    handed to the refunds area, which executes it through the original channel."""

    exception_id: int
    business_day: date
    refund: Refund
    order_no: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundTransferDebited(DomainEvent):
    """The collection account's statement shows a refund paid by bank transfer (its debit
    `REFUND:<refund no>` matched the platform's refund): the money left the collection account."""

    refund_no: str
    channel: str
    payable_id: int
    amount_fen: int
    statement_ref: str  # the bank's serial of the debit
    business_day: date  # the statement's day
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExceptionAssigned(DomainEvent):
    exception_id: int
    assignee: str
    actor: str
    at: datetime


@dataclass(slots=True)
class ReconException:
    """One difference found by matching (差错), with its workflow."""

    id: int
    source: Source
    business_day: date
    match_class: MatchClass
    key: str  # the order, refund or bank reference it is about
    amount_fen: int
    status: ExceptionStatus
    created_at: datetime
    detail: dict[str, object] = field(default_factory=dict)
    order_no: str | None = None
    line_id: int | None = None
    assignee: str | None = None
    action: Action | None = None
    reason: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None

    def age_days(self, today: date) -> int:
        return max(0, (today - self.business_day).days)

    def assign(self, assignee: str, *, actor: str, at: datetime) -> list[DomainEvent]:
        if self.status is not ExceptionStatus.OPEN:
            raise InvalidTransition(f"差错状态为“{self.status.label}”，不能分派")
        if not assignee.strip():
            raise ValidationFailed("请填写经办人", errors={"assignee": "请填写经办人"})
        self.assignee = assignee.strip()
        return [ExceptionAssigned(self.id, self.assignee, actor, at)]

    def resolve(
        self,
        action: Action,
        reason: str,
        *,
        actor: str,
        at: datetime,
        plan: Mapping[str, object] | None = None,
    ) -> list[DomainEvent]:
        """Decide (with a reason); `plan`: what the action will do once reviewed (the write-off's
        journal, the refund's order), kept in the detail for the reviewer to see."""
        if self.status is not ExceptionStatus.OPEN:
            raise InvalidTransition(f"差错状态为“{self.status.label}”，不能处理")
        reason = reason.strip()
        if len(reason) < MIN_REASON_CHARS:
            message = f"请填写处理原因（至少 {MIN_REASON_CHARS} 个字）"
            raise ValidationFailed(message, errors={"reason": message})
        if action not in ACTIONS.get(self.match_class, frozenset()):
            message = f"“{self.match_class.label}”不能用“{action.label}”处理"
            raise ValidationFailed(message, errors={"action": message})
        self.action, self.reason = action, reason
        self.resolved_by, self.resolved_at = actor, at
        self.status = ExceptionStatus.RESOLVED
        if plan is not None:
            self.detail = {**self.detail, PLAN_KEYS[action]: dict(plan)}
        return [ExceptionResolved(self.id, action, reason, actor, at)]

    def review(self, approved: bool, *, actor: str, at: datetime) -> list[DomainEvent]:
        if self.status is not ExceptionStatus.RESOLVED:
            raise InvalidTransition(f"差错状态为“{self.status.label}”，不能复核")
        if actor == self.resolved_by:
            raise Forbidden("复核须由另一人进行：不能复核自己的处理")
        events: list[DomainEvent] = [ExceptionReviewed(self.id, approved, actor, at)]
        if approved:
            self.status = ExceptionStatus.CLOSED
            self.reviewed_by, self.reviewed_at = actor, at
            planned = self.detail.get(PLAN_KEYS[Action.WRITE_OFF])
            if self.action is Action.WRITE_OFF and isinstance(planned, dict):
                write_off = WriteOff.from_dict(planned)
                reason = self.reason or ""
                events.append(
                    DifferenceWrittenOff(self.id, self.business_day, write_off, reason, actor, at)
                )
        else:
            self.status = ExceptionStatus.OPEN
            self.action = None
            self.resolved_by = self.resolved_at = None
            self.detail = {k: v for k, v in self.detail.items() if k not in PLAN_KEYS.values()}
        return events

    @property
    def resolution(self) -> LineResolution | None:
        """How its statement line is marked once closed."""
        if self.status is not ExceptionStatus.CLOSED or self.action is None:
            return None
        return RESOLUTION_OF[self.action]

    def release(self) -> None:
        """A held item that a later statement matched."""
        if self.status is not ExceptionStatus.HOLDING:
            raise InvalidTransition("只有挂账中的差异可以核平")
        self.status = ExceptionStatus.RELEASED

    def age_out(self) -> None:
        """A held item older than the holding period becomes a platform-only exception."""
        if self.status is not ExceptionStatus.HOLDING:
            raise InvalidTransition("只有挂账中的差异会转为差错")
        self.status = ExceptionStatus.OPEN
        self.match_class = MatchClass.PLATFORM_ONLY


PLAN_KEYS: Mapping[Action, str] = {
    Action.RECOVER: "recover",
    Action.REFUND: "refund",
    Action.WRITE_OFF: "write_off",
    Action.ACCEPT: "accept",
}


def day_is_reconciled(open_exceptions: int, statement_present: bool) -> bool:
    return statement_present and open_exceptions == 0
