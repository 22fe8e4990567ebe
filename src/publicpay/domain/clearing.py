"""Clearing (清算/划解/入库): a reconciled business day's money leaves the collection account
(汇缴户) for the treasury by budget level (国库) and the finance special account (财政专户).

A window per business day and collection account: its lines split every reconciled payment by
budget subject, level and destination exactly to the fen (the catalogue's split, remainder to
the lowest level) and take refunds back the same way; the channels' fees are netted as the bank
does (the channel pays in net, the bureau's fee budget makes up the fees) and shown. Refunds the
collection account paid by bank transfer (a counter payment's, its `REFUND:` debit matched) are
netted too, each by the first window opened after its debit matched, and shown apart. The
instruction goes out as the treasury voucher 5408; the treasury's receipt (入库回执) confirms
the window, or it fails and becomes an exception.

A 5408 voucher pays money into the treasury (缴库) by budget level: no level (nor the special
account) can be sent a negative amount — giving money back from the treasury is 退库, another
procedure. So what a window cannot take back from a level that day (its refunds there exceed
its payments there) is held, refund line by refund line, and carried to the next window, which
takes it back first (`hold_below_zero`); meanwhile the collection account advances it.

State machine: open → instructed → confirmed, or instructed → failed (re-sent → instructed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from publicpay.domain.catalogue import BudgetLevel, Destination, FeeItem
from publicpay.domain.errors import DomainError, InvalidTransition
from publicpay.domain.events import DomainEvent
from publicpay.domain.ledger import (
    SPECIAL_ACCOUNT,
    Journal,
    JournalKind,
    Posting,
    channel_receivable,
    treasury_payable,
)
from publicpay.domain.payables import PayableLine, item_amounts

COLLECTION = "collection"  # the collection account (汇缴户)
CHANNEL_FEES = "channel_fees"  # fees the channels kept (an expense of the bureau)
FEE_FUNDING = "fee_funding"  # the bureau's fee budget making the fees up
SPECIAL = "special_account"  # by_level key of the finance special account


class WindowStatus(StrEnum):
    OPEN = "open"
    INSTRUCTED = "instructed"  # the voucher went to the treasury
    CONFIRMED = "confirmed"  # the treasury's receipt says 入库
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            "open": "待清算",
            "instructed": "已发送划款指令",
            "confirmed": "国库已确认入库",
            "failed": "国库退回（失败）",
        }[self]


_TRANSITIONS: Mapping[WindowStatus, frozenset[WindowStatus]] = {
    WindowStatus.OPEN: frozenset({WindowStatus.INSTRUCTED}),
    WindowStatus.INSTRUCTED: frozenset({WindowStatus.CONFIRMED, WindowStatus.FAILED}),
    WindowStatus.FAILED: frozenset({WindowStatus.INSTRUCTED}),
    WindowStatus.CONFIRMED: frozenset(),
}


class ReceiptRefused(DomainError):
    """A treasury receipt that matches no instruction, or another amount."""

    code = "treasury_receipt_refused"
    title = "国库回执不能接受"


def level_key(level: BudgetLevel, destination: Destination) -> str:
    """Where a part is counted in a window's `by_level`: its budget level, or the finance
    special account for what goes there."""
    return SPECIAL if destination is Destination.SPECIAL_ACCOUNT else level.value


class ClearingLine(NamedTuple):
    """One detail of the voucher: a payment code's part for one subject, level, destination.
    (A named tuple: a day makes a million of them.)"""

    payment_code: str
    subject_code: str
    level: BudgetLevel
    destination: Destination
    amount_fen: int  # negative: a refund taken back (退库冲减)
    unit_name: str

    @property
    def level_key(self) -> str:
        return level_key(self.level, self.destination)


Part = tuple[str, BudgetLevel, Destination, int]  # budget subject, level, destination, fen


def payment_parts(
    lines: Sequence[PayableLine], items: Mapping[str, FeeItem], paid_fen: int
) -> list[Part]:
    """A payment split exactly like its ledger shares, keeping each item's budget subject."""
    return [
        (item.budget_subject, level, item.destination, part)
        for item, amount in item_amounts(lines, items, paid_fen)
        for level, part in item.split.apply(amount).items()
        if part
    ]


def payment_lines(
    payment_code: str,
    unit_name: str,
    lines: Sequence[PayableLine],
    items: Mapping[str, FeeItem],
    paid_fen: int,
) -> list[ClearingLine]:
    """A payment's clearing lines (`payment_parts` with its payment code and unit)."""
    return [
        ClearingLine(payment_code, subject, level, destination, part, unit_name)
        for subject, level, destination, part in payment_parts(lines, items, paid_fen)
    ]


def by_level(lines: Sequence[ClearingLine]) -> dict[str, int]:
    sums: dict[tuple[Destination, BudgetLevel], int] = {}
    for line in lines:
        key = (line.destination, line.level)
        sums[key] = sums.get(key, 0) + line.amount_fen
    totals: dict[str, int] = {}
    for (destination, level), amount in sums.items():
        name = level_key(level, destination)
        totals[name] = totals.get(name, 0) + amount
    return {k: v for k, v in sorted(totals.items()) if v}


@dataclass(frozen=True, slots=True)
class DaySplit:
    """A day's clearing lines (payments split, refunds taken back) and their totals."""

    lines: Sequence[ClearingLine]
    payments_fen: int  # the positive lines
    refunds_fen: int  # what the negative lines take back (positive)
    by_level: dict[str, int]  # `by_level(lines)`

    @classmethod
    def of(cls, lines: Sequence[ClearingLine]) -> DaySplit:
        return cls(
            lines,
            sum(line.amount_fen for line in lines if line.amount_fen > 0),
            -sum(line.amount_fen for line in lines if line.amount_fen < 0),
            by_level(lines),
        )


HELD_REASON = "本级次当日退款冲减超过收款，不能以负数缴库，结转下一清算窗口冲减"


def hold_below_zero(
    lines: Sequence[ClearingLine], levels: Mapping[str, int]
) -> tuple[Sequence[ClearingLine], list[ClearingLine]]:
    """(the lines a window sends, the refund parts it holds): where a level's lines (`levels`,
    their sums by `level_key`) add up to less than zero, its refund lines are held from the
    last one back — a line partly when part of it fits — until the level adds up to zero.
    Lines carried from earlier windows come first, so they are the last held again. Without a
    level below zero the lines are returned as they are (a frame stays a frame)."""
    short = {key: -fen for key, fen in levels.items() if fen < 0}
    if not short:
        return lines, []
    kept: list[ClearingLine] = []
    held: list[ClearingLine] = []
    for line in reversed(list(lines)):
        left = short.get(line.level_key, 0)
        if line.amount_fen >= 0 or not left:
            kept.append(line)
            continue
        part = min(left, -line.amount_fen)
        short[line.level_key] = left - part
        held.append(line._replace(amount_fen=-part))
        if line.amount_fen + part:
            kept.append(line._replace(amount_fen=line.amount_fen + part))
    kept.reverse()
    held.reverse()
    return kept, held


def merged_levels(*parts: Mapping[str, int]) -> dict[str, int]:
    """Sums by level key added up, zeros left out, sorted like `by_level`."""
    totals: dict[str, int] = {}
    for part in parts:
        for key, fen in part.items():
            totals[key] = totals.get(key, 0) + fen
    return {k: v for k, v in sorted(totals.items()) if v}


@dataclass(frozen=True, slots=True)
class Settlement:
    """One channel's day as the collection account receives it: gross (payments − refunds) less
    the channel's fee."""

    channel: str
    gross_fen: int
    fee_fen: int

    @property
    def net_fen(self) -> int:
        return self.gross_fen - self.fee_fen


def settlement_journal(day: date, s: Settlement) -> Journal | None:
    postings = [
        Posting(COLLECTION, s.gross_fen),
        Posting(channel_receivable(s.channel), -s.gross_fen),
    ]
    if s.fee_fen:
        postings += [Posting(CHANNEL_FEES, s.fee_fen), Posting(FEE_FUNDING, -s.fee_fen)]
    postings = [p for p in postings if p.amount_fen]
    if len(postings) < 2:
        return None
    return Journal(JournalKind.SETTLEMENT, f"settle:{s.channel}:{day.isoformat()}", tuple(postings))


def clearing_journal(window_id: int, levels: Mapping[str, int]) -> Journal | None:
    total = sum(levels.values())
    if not total:
        return None
    postings = [
        Posting(SPECIAL_ACCOUNT if key == SPECIAL else treasury_payable(BudgetLevel(key)), amount)
        for key, amount in levels.items()
        if amount
    ]
    postings.append(Posting(COLLECTION, -total))
    return Journal(JournalKind.CLEARING, f"clearing:{window_id}", tuple(postings))


@dataclass(frozen=True, slots=True)
class ClearingInstructed(DomainEvent):
    window: Window
    settlements: tuple[Settlement, ...]
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ClearingConfirmed(DomainEvent):
    window: Window
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ClearingFailed(DomainEvent):
    window: Window
    reason: str
    actor: str
    at: datetime


@dataclass(slots=True)
class Window:
    id: int
    business_day: date
    account: str
    status: WindowStatus
    gross_fen: int  # reconciled payments
    refunds_fen: int
    fees_fen: int
    # transferred out: payments − refunds − transfer refunds − carried + held
    total_fen: int
    by_level: dict[str, int] = field(default_factory=dict)
    transfer_refunds_fen: int = 0  # refunds the collection account already paid by transfer
    held_fen: int = 0  # refund parts not taken back (a level would go below zero), carried on
    carried_fen: int = 0  # refund parts earlier windows held, taken back here
    voucher_no: str | None = None
    failure: str | None = None
    created_at: datetime | None = None
    instructed_at: datetime | None = None
    confirmed_at: datetime | None = None

    @property
    def net_received_fen(self) -> int:
        """What the channels paid into the collection account: gross − refunds − fees."""
        return self.gross_fen - self.refunds_fen - self.fees_fen

    def _move(self, target: WindowStatus) -> None:
        if target not in _TRANSITIONS[self.status]:
            raise InvalidTransition(f"清算窗口状态“{self.status.label}”不能变为“{target.label}”")
        self.status = target

    def instruct(
        self, voucher_no: str, settlements: Sequence[Settlement], *, actor: str, at: datetime
    ) -> list[DomainEvent]:
        first = self.status is WindowStatus.OPEN
        self._move(WindowStatus.INSTRUCTED)
        self.voucher_no, self.instructed_at, self.failure = voucher_no, at, None
        # the channels' settlements are booked once, when the window is first instructed
        booked = tuple(settlements) if first else ()
        return [ClearingInstructed(self, booked, actor, at)]

    def confirm(self, x_sum_fen: int, *, actor: str, at: datetime) -> list[DomainEvent]:
        if x_sum_fen != self.total_fen:
            raise ReceiptRefused(
                f"回执入库金额 {x_sum_fen} 分与划款指令 {self.total_fen} 分不符",
            )
        self._move(WindowStatus.CONFIRMED)
        self.confirmed_at = at
        return [ClearingConfirmed(self, actor, at)]

    def fail(self, reason: str, *, actor: str, at: datetime) -> list[DomainEvent]:
        self._move(WindowStatus.FAILED)
        self.failure = reason[:200]
        return [ClearingFailed(self, self.failure, actor, at)]


@dataclass(frozen=True, slots=True)
class TreasuryReceipt:
    """入库回执: what the treasury did with a voucher."""

    voucher_no: str
    confirmed: bool
    x_sum_fen: int
    acct_date: date | None
    reason: str


def voucher_no(day: date, window_id: int) -> str:
    """缴库凭证号 (VoucherNo, at most 20 bytes): 5408 + yyyyMMdd + window id."""
    return f"5408{day:%Y%m%d}{window_id:06d}"
