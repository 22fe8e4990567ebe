"""Cashier shifts (收费员班次, spec W2) and the cash office: a cashier works a numbered window
from opening (with a float of change) to closing; every payment taken at that window meanwhile
belongs to the shift.

One shift at a time per window and per cashier. Closing asks for the counted cash by
denomination (点钞), shows the takings by channel and the difference against what the drawer
should hold (opening float + cash taken). A shift that balances is closed at once; one with a
difference (长款/短款) waits for a supervisor — another user with the right role, never the
cashier — to confirm it. A closed shift's cash beyond the float goes to the bank on a deposit
slip (解款单): cash in drawer → cash in transit, and → the collection account once the bank
statement shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from publicpay.domain.events import DomainEvent
from publicpay.domain.money import format_yuan


class ShiftStatus(StrEnum):
    OPEN = "open"  # taking payments
    AWAITING_CONFIRMATION = "to_confirm"  # closed with a difference: a supervisor
    CLOSED = "closed"  # closed and settled (balanced, or its difference confirmed)


SHIFT_STATUS_LABELS = {
    ShiftStatus.OPEN: "当班",
    ShiftStatus.AWAITING_CONFIRMATION: "待主管确认",
    ShiftStatus.CLOSED: "已结班",
}
MAX_FLOAT_FEN = 10_000_00  # 10,000 yuan of change in a drawer at most
MAX_PIECES = 100_000  # of one denomination in one count
MAX_NOTE = 200

# Legal tender in circulation (人民币), in fen, largest first, with what the count form shows.
DENOMINATIONS: tuple[tuple[int, str], ...] = (
    (100_00, "100元"),
    (50_00, "50元"),
    (20_00, "20元"),
    (10_00, "10元"),
    (5_00, "5元"),
    (1_00, "1元"),
    (50, "5角"),
    (10, "1角"),
)
DENOMINATION_LABELS = dict(DENOMINATIONS)


class ShiftRequired(Conflict):
    """A payment at a window needs the window's shift to be open."""

    code = "shift_required"
    title = "窗口未开班"


class TakingsKind(StrEnum):
    """How a payment at the window was taken (the rows of the takings table)."""

    CASH = "cash"  # 现金
    BARCODE = "barcode"  # 付款码 (we scan the payer's code)
    QR = "qr"  # 扫码 (the payer scans ours)
    CARD = "card"  # 银行卡


TAKINGS_LABELS = {
    TakingsKind.CASH: "现金",
    TakingsKind.BARCODE: "付款码",
    TakingsKind.QR: "扫码支付",
    TakingsKind.CARD: "银行卡",
}


def takings_kind(method: str) -> TakingsKind:
    """An order's method (`OrderMethod`) as a takings row; a card-present method is 银行卡."""
    try:
        return TakingsKind(method)
    except ValueError:
        return TakingsKind.CARD


@dataclass(frozen=True, slots=True)
class TakingsLine:
    kind: TakingsKind
    count: int
    amount_fen: int

    @property
    def label(self) -> str:
        return TAKINGS_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class Takings:
    """What the shift took, by kind (every kind listed, zero when none)."""

    lines: tuple[TakingsLine, ...]

    @classmethod
    def of(cls, payments: Sequence[tuple[str, int]]) -> Takings:
        """From (method, amount_fen) of each payment the shift took."""
        counts = dict.fromkeys(TakingsKind, 0)
        sums = dict.fromkeys(TakingsKind, 0)
        for method, amount_fen in payments:
            kind = takings_kind(method)
            counts[kind] += 1
            sums[kind] += amount_fen
        return cls(tuple(TakingsLine(k, counts[k], sums[k]) for k in TakingsKind))

    @property
    def cash_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines if line.kind is TakingsKind.CASH)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def count(self) -> int:
        return sum(line.count for line in self.lines)

    def as_dict(self) -> dict[str, list[int]]:
        return {line.kind.value: [line.count, line.amount_fen] for line in self.lines}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[int]]) -> Takings:
        lines = []
        for kind in TakingsKind:
            count, amount = data.get(kind.value, (0, 0))
            lines.append(TakingsLine(kind, int(count), int(amount)))
        return cls(tuple(lines))


@dataclass(frozen=True, slots=True)
class CashCount:
    """Counted cash: pieces per denomination (fen → pieces), only the ones counted."""

    pieces: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, pieces: Mapping[int, int]) -> CashCount:
        errors = {}
        for value, n in pieces.items():
            if value not in DENOMINATION_LABELS:
                errors[str(value)] = "不是流通中的人民币面额"
            elif not 0 <= n <= MAX_PIECES:
                errors[str(value)] = f"张（枚）数应在 0 至 {MAX_PIECES} 之间"
        if errors:
            raise ValidationFailed("点钞数量有误", errors=errors)
        order = [value for value, _ in DENOMINATIONS]
        kept = sorted(((v, n) for v, n in pieces.items() if n), key=lambda vn: order.index(vn[0]))
        return cls(tuple(kept))

    @property
    def total_fen(self) -> int:
        return sum(value * n for value, n in self.pieces)

    def rows(self) -> list[tuple[str, int, int]]:
        """(label, pieces, amount_fen) per denomination, largest first, every one listed."""
        counted = dict(self.pieces)
        return [(label, counted.get(v, 0), v * counted.get(v, 0)) for v, label in DENOMINATIONS]

    def as_dict(self) -> dict[str, int]:
        return {str(value): n for value, n in self.pieces}

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> CashCount:
        return cls.of({int(value): int(n) for value, n in data.items()})


@dataclass(frozen=True, slots=True)
class Closing:
    """What the cashier declared at closing, and what the books said then."""

    counted: CashCount
    takings: Takings
    note: str = ""

    @property
    def counted_fen(self) -> int:
        return self.counted.total_fen


@dataclass(frozen=True, slots=True)
class Confirmation:
    by_id: int
    by: str  # the supervisor's username
    at: datetime
    note: str


# --- events (recorded by services.recording.recorder) ---------------------------------------


@dataclass(frozen=True, slots=True)
class ShiftClosed(DomainEvent):
    """The cashier closed the shift with a count (settled at once when it balances)."""

    shift: Shift
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ShiftSettled(DomainEvent):
    """The shift's difference (if any) is accepted: booked as 长款/短款 (cash over/short)."""

    shift: Shift
    by: str
    at: datetime


@dataclass(slots=True)
class Shift:
    id: int
    window_id: int
    site_id: int
    unit_id: int | None
    cashier_id: int  # the console user
    cashier: str  # their username, as shown and audited
    opening_float_fen: int
    opened_at: datetime
    status: ShiftStatus = ShiftStatus.OPEN
    closed_at: datetime | None = None
    closing: Closing | None = None
    confirmation: Confirmation | None = None

    @property
    def expected_cash_fen(self) -> int:
        """What the drawer should hold: the float and the cash taken."""
        cash = self.closing.takings.cash_fen if self.closing else 0
        return self.opening_float_fen + cash

    @property
    def difference_fen(self) -> int:
        """Counted minus expected: > 0 长款 (over), < 0 短款 (short)."""
        if self.closing is None:
            return 0
        return self.closing.counted_fen - self.expected_cash_fen

    @property
    def deposit_fen(self) -> int:
        """The cash to bank: everything counted beyond the float kept for change."""
        if self.closing is None:
            return 0
        return max(0, self.closing.counted_fen - self.opening_float_fen)

    def close(self, closing: Closing, *, by_id: int, by: str, at: datetime) -> list[DomainEvent]:
        """The cashier closes their own shift with the counted cash."""
        if by_id != self.cashier_id:
            raise Forbidden(f"只能结本人的班次（该班次收费员为 {self.cashier}）")
        if self.status is not ShiftStatus.OPEN:
            raise InvalidTransition("该班次已结班，不能重复结班")
        self.closing = closing
        self.closed_at = at
        if self.difference_fen:
            self.status = ShiftStatus.AWAITING_CONFIRMATION
            return [ShiftClosed(self, by, at)]
        self.status = ShiftStatus.CLOSED
        return [ShiftClosed(self, by, at), ShiftSettled(self, by, at)]

    def confirm(self, confirmation: Confirmation) -> list[DomainEvent]:
        """A supervisor accepts the difference (maker-checker: never the shift's cashier)."""
        if confirmation.by_id == self.cashier_id:
            raise Forbidden("结班差异须由其他人员（值班主管）确认，收费员不能确认本人的班次")
        if self.status is not ShiftStatus.AWAITING_CONFIRMATION:
            raise InvalidTransition(f"该班次{SHIFT_STATUS_LABELS[self.status]}，无需确认")
        if not confirmation.note.strip():
            raise ValidationFailed("请填写差异说明", errors={"note": "必填"})
        self.confirmation = confirmation
        self.status = ShiftStatus.CLOSED
        return [ShiftSettled(self, confirmation.by, confirmation.at)]


def difference_text(difference_fen: int) -> str:
    if difference_fen > 0:
        return f"长款 {format_yuan(difference_fen)}"
    if difference_fen < 0:
        return f"短款 {format_yuan(-difference_fen)}"
    return "无差异"


def check_float(opening_float_fen: int) -> None:
    if not 0 <= opening_float_fen <= MAX_FLOAT_FEN:
        raise ValidationFailed(
            "备用金应在 0 至 10000.00 元之间", errors={"opening_float_fen": "超出范围"}
        )


def check_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"说明最多{MAX_NOTE}字", errors={"note": "过长"})
    return note


# --- deposits (解款) ------------------------------------------------------------------------


class DepositStatus(StrEnum):
    IN_TRANSIT = "in_transit"  # on its way to the bank (在途)
    CREDITED = "credited"  # shown on the collection account's statement (已到账)


DEPOSIT_STATUS_LABELS = {DepositStatus.IN_TRANSIT: "在途", DepositStatus.CREDITED: "已到账"}


@dataclass(frozen=True, slots=True)
class Credit:
    """The bank statement line that shows a deposit arrived in the collection account."""

    statement_ref: str  # the bank's reference of the statement line
    credited_on: date  # the statement's value date
    by: str  # who recorded it (a user, or "reconciliation")
    at: datetime


@dataclass(frozen=True, slots=True)
class DepositPrepared(DomainEvent):
    deposit: Deposit
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DepositCredited(DomainEvent):
    deposit: Deposit
    at: datetime


@dataclass(slots=True)
class Deposit:
    """A deposit slip (现金解款单): one closed shift's cash to the collection account."""

    id: int
    deposit_no: str  # the reference the bank sees (缴款单号), JK + date + shift
    shift_id: int
    unit_id: int | None
    site_id: int
    amount_fen: int
    business_date: date
    prepared_at: datetime
    prepared_by: str
    status: DepositStatus = DepositStatus.IN_TRANSIT
    credit: Credit | None = None
    pieces: CashCount = field(default_factory=lambda: CashCount(()))

    @classmethod
    def prepare(
        cls, shift: Shift, *, deposit_no: str, business_date: date, by: str, at: datetime
    ) -> tuple[Deposit, list[DomainEvent]]:
        if shift.status is not ShiftStatus.CLOSED or shift.closing is None:
            raise InvalidTransition("班次尚未结班（或差异未经确认），不能解款")
        if shift.deposit_fen <= 0:
            raise InvalidTransition("该班次没有需要解缴的现金")
        deposit = cls(0, deposit_no, shift.id, shift.unit_id, shift.site_id, shift.deposit_fen,
                      business_date, at, by, pieces=shift.closing.counted)  # fmt: skip
        return deposit, [DepositPrepared(deposit, by, at)]

    def mark_credited(self, credit: Credit, *, amount_fen: int) -> list[DomainEvent]:
        """The collection account's statement shows it (idempotent for the same line)."""
        if amount_fen != self.amount_fen:
            raise Conflict(
                f"到账金额 {format_yuan(amount_fen)} 与解款金额 {format_yuan(self.amount_fen)} 不符"
            )
        if self.status is DepositStatus.CREDITED:
            assert self.credit is not None
            if self.credit.statement_ref == credit.statement_ref:
                return []
            raise Conflict(f"解款单 {self.deposit_no} 已与流水 {self.credit.statement_ref} 匹配")
        self.status = DepositStatus.CREDITED
        self.credit = credit
        return [DepositCredited(self, credit.at)]


def deposit_no(business_date: date, shift_id: int) -> str:
    return f"JK{business_date:%Y%m%d}{shift_id:08d}"
