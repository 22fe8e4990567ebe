"""Reconciliation (对账): statements, match classes, exceptions and their workflow.

A statement is one source's record of one business day (Asia/Shanghai): a channel's trade bill
(Alipay, WeChat Pay, UnionPay), the bank counter's statement, or the collection account's bank
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


class Source(StrEnum):
    """Who sent the statement."""

    ALIPAY = "alipay"
    WECHAT = "wechat"
    UNIONPAY = "unionpay"
    COUNTER = "counter"  # the collecting bank's counter statement (银行柜面)
    BANK = "bank"  # the collection account's bank statement (汇缴户对账单)

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS: Mapping[Source, str] = {
    Source.ALIPAY: "支付宝",
    Source.WECHAT: "微信支付",
    Source.UNIONPAY: "银联",
    Source.COUNTER: "银行柜面",
    Source.BANK: "汇缴户银行流水",
}

CHANNEL_SOURCES = (Source.ALIPAY, Source.WECHAT, Source.UNIONPAY, Source.COUNTER)


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
    REFUND = "refund"  # 退款: return the money to the payer
    WRITE_OFF = "write_off"  # 核销: booked to suspense with a reason
    ACCEPT = "accept"  # 确认无误: the difference is explained, nothing to do

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: Mapping[Action, str] = {
    Action.RECOVER: "补单（查询渠道后确认缴款）",
    Action.REFUND: "退款",
    Action.WRITE_OFF: "核销（转待处理）",
    Action.ACCEPT: "确认无误",
}

# What may be done about each class.
ACTIONS: Mapping[MatchClass, frozenset[Action]] = {
    MatchClass.CHANNEL_ONLY: frozenset({Action.RECOVER, Action.REFUND, Action.ACCEPT}),
    MatchClass.PLATFORM_ONLY: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.AMOUNT_MISMATCH: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.STATUS_MISMATCH: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
    MatchClass.DUPLICATE: frozenset({Action.REFUND, Action.ACCEPT}),
    MatchClass.UNKNOWN_CREDIT: frozenset({Action.WRITE_OFF, Action.ACCEPT}),
}

MIN_REASON_CHARS = 4


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
        self, action: Action, reason: str, *, actor: str, at: datetime
    ) -> list[DomainEvent]:
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
        return [ExceptionResolved(self.id, action, reason, actor, at)]

    def review(self, approved: bool, *, actor: str, at: datetime) -> list[DomainEvent]:
        if self.status is not ExceptionStatus.RESOLVED:
            raise InvalidTransition(f"差错状态为“{self.status.label}”，不能复核")
        if actor == self.resolved_by:
            raise Forbidden("复核须由另一人进行：不能复核自己的处理")
        if approved:
            self.status = ExceptionStatus.CLOSED
            self.reviewed_by, self.reviewed_at = actor, at
        else:
            self.status = ExceptionStatus.OPEN
            self.action = None
            self.resolved_by = self.resolved_at = None
        return [ExceptionReviewed(self.id, approved, actor, at)]

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


def day_is_reconciled(open_exceptions: int, statement_present: bool) -> bool:
    return statement_present and open_exceptions == 0
