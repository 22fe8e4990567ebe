"""Fiscal e-receipts (财政电子票据): numbering, stock ranges, lifecycle and the receipt face.

票据代码 is 8 digits (2 监管机构区划 + 2 分类 + 2 种类 + 2 年度); 票据号码 is 10 digits
drawn in order from a number range (号段) the finance bureau allocated; 校验码 is 6 random digits.
A receipt is never voided: a refund is answered with a red-letter receipt (红字票据) linked to
the original.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from publicpay.domain.codes import mask_id
from publicpay.domain.errors import DomainError

RECEIPT_CODE = re.compile(r"^\d{8}$")
RECEIPT_NUMBER = re.compile(r"^\d{10}$")
CHECK_CODE = re.compile(r"^\d{6}$")
MAX_NUMBER = 9_999_999_999
DEFAULT_PRINT_WINDOW_DAYS = 183
REPRINT_MARK = "重复打印"
DEFAULT_TITLE = "非税收入统一票据（电子）"


class ReceiptStockExhausted(DomainError):
    code = "receipt_stock_exhausted"
    title = "票据号段已用完"


class ReceiptStatus(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    REVERSED = "reversed"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ReceiptStatus.PENDING: "待开具",
    ReceiptStatus.ISSUED: "已开具",
    ReceiptStatus.REVERSED: "已红冲",
    ReceiptStatus.FAILED: "开具失败",
}


class ReceiptKind(StrEnum):
    NORMAL = "normal"
    RED = "red"

    @property
    def label(self) -> str:
        return "红字票据" if self is ReceiptKind.RED else "正常票据"


def _two_digits(value: str, name: str) -> str:
    if not re.fullmatch(r"\d{2}", value):
        raise ValueError(f"{name} must be 2 digits, got {value!r}")
    return value


def receipt_code(region2: str, category2: str, kind2: str, year: int) -> str:
    """票据代码: '32' + '01' + '01' + 2026 -> '32010126'."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"year out of range: {year}")
    return (
        _two_digits(region2, "region")
        + _two_digits(category2, "category")
        + _two_digits(kind2, "kind")
        + f"{year % 100:02d}"
    )


@dataclass(slots=True)
class NumberRange:
    """A 号段 of 票据号码 for one 票据代码: start..end inclusive; `next` is the next to draw.

    Numbers only move forward, so a drawn number is never handed out again.
    """

    code: str
    start: int
    end: int
    next: int = -1

    def __post_init__(self) -> None:
        if not RECEIPT_CODE.match(self.code):
            raise ValueError(f"receipt code must be 8 digits, got {self.code!r}")
        if not 0 <= self.start <= self.end <= MAX_NUMBER:
            raise ValueError(f"bad number range {self.start}..{self.end}")
        if self.next == -1:
            self.next = self.start
        if not self.start <= self.next <= self.end + 1:
            raise ValueError(f"next {self.next} outside {self.start}..{self.end + 1}")

    @property
    def remaining(self) -> int:
        return self.end + 1 - self.next

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def draw(self) -> str:
        """The next 10-digit 票据号码; raises ReceiptStockExhausted when the range is used up."""
        if self.exhausted:
            raise ReceiptStockExhausted(
                f"票据代码 {self.code} 的号段 {self.start:010d}-{self.end:010d} 已用完"
            )
        number = self.next
        self.next += 1
        return f"{number:010d}"


class Chooser(Protocol):
    """Has `choice` over a string: `random.Random(...)` in tests, `secrets` in production."""

    def choice(self, seq: str, /) -> str: ...


def new_check_code(rng: Chooser = secrets) -> str:
    """校验码: 6 random digits."""
    return "".join(rng.choice("0123456789") for _ in range(6))


def can_print(
    issued_at: datetime, now: datetime, window_days: int = DEFAULT_PRINT_WINDOW_DAYS
) -> bool:
    """Print on demand is allowed from issue until `window_days` after it (default ~6 months)."""
    _require_aware(issued_at, "issued_at")
    _require_aware(now, "now")
    return issued_at <= now <= issued_at + timedelta(days=window_days)


def is_reprint(prints_so_far: int) -> bool:
    """The first print is the original; every later one is a reprint."""
    if prints_so_far < 0:
        raise ValueError("prints_so_far must be >= 0")
    return prints_so_far > 0


def print_mark(prints_so_far: int) -> str:
    """Text stamped on the paper: '' for the first print, '重复打印' afterwards."""
    return REPRINT_MARK if is_reprint(prints_so_far) else ""


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One 项目 row: amounts in fen; red receipts carry negative amounts."""

    item_code: str
    item_name: str
    unit: str
    quantity: int | Decimal
    standard_fen: int
    amount_fen: int

    @property
    def quantity_text(self) -> str:
        """'2', '1.5' (no exponent, no trailing zeros)."""
        if isinstance(self.quantity, int):
            return str(self.quantity)
        text = format(self.quantity, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


def is_whole(line: ReceiptLine) -> bool:
    """Quantity × standard equals the amount (what every line of every receipt must show)."""
    return line.quantity * line.standard_fen == line.amount_fen


def whole_line(line: ReceiptLine) -> ReceiptLine:
    """The line itself when whole; otherwise 1 (or -1 on a red receipt) × its amount, the
    standard being the amount (a range or decision amount that does not divide by the
    quantity, or a line of a receipt issued before this rule)."""
    if is_whole(line):
        return line
    sign = -1 if line.amount_fen < 0 else 1
    return replace(line, quantity=sign, standard_fen=abs(line.amount_fen))


def negated_lines(lines: Sequence[ReceiptLine]) -> tuple[ReceiptLine, ...]:
    """The red receipt's lines: each (whole) line with quantity and amount negated."""
    return tuple(
        replace(line, quantity=-line.quantity, amount_fen=-line.amount_fen)
        for line in map(whole_line, lines)
    )


def kept_after_refund(lines: Sequence[ReceiptLine], refund_fen: int) -> tuple[ReceiptLine, ...]:
    """The replacement receipt's lines after a partial refund of `refund_fen`.

    The refund comes off the LAST lines first: a line the refund covers entirely is dropped;
    the line it reaches last gives up whole units when the refunded rest is a multiple of its
    standard (3 × 100.00 less 200.00 → 1 × 100.00), otherwise it shows 1 × what is kept with the
    standard set to that amount (1 × 1,100.00 less 231.58 → 1 × 868.42). Lines before it are
    unchanged. So every line stays whole and the lines add up to what is kept.
    """
    lines = [whole_line(line) for line in lines]
    total = sum(line.amount_fen for line in lines)
    if not 0 <= refund_fen <= total:
        raise ValueError(f"refund {refund_fen} outside 0..{total}")
    left = refund_fen
    while left and lines:
        last = lines.pop()
        if left < last.amount_fen:
            lines.append(_reduced(last, left))
            break
        left -= last.amount_fen
    return tuple(lines)


def _reduced(line: ReceiptLine, refund_fen: int) -> ReceiptLine:
    """`line` less `refund_fen` (0 < refund < amount), in whole units where possible."""
    kept = line.amount_fen - refund_fen
    units, rest = divmod(refund_fen, line.standard_fen) if line.standard_fen else (0, 1)
    if rest == 0 and isinstance(line.quantity, int):
        return replace(line, quantity=line.quantity - units, amount_fen=kept)
    return replace(line, quantity=1, standard_fen=kept, amount_fen=kept)


SUPERVISOR_SEAL_NAME = "财政票据监制章"


@dataclass(frozen=True, slots=True)
class Seal:
    """An InvoicingPartySeal / SupervisorPartySeal block: SealId, SealName, SealHash.

    PublicPay's electronic seals are the SM2 signing keys: the id names the key
    (`<owner>-<key id>`), the hash is the SM3 digest (hex) of the key's public key PEM as
    published by `GET /api/v1/receipts/keys`, so a reader can tell which key sealed a receipt.
    """

    seal_id: str = ""
    name: str = ""
    hash: str = ""


def specimen_code(receipt_code: str) -> str:
    """EInvoiceSpecimenCode (电子票据模板代码): the 8-digit 票据代码 + 2-digit template version
    "01" -- as in the one published sample, code 32010121 → specimen 3201012101 (domain notes
    §1.3; derived from that sample, not from a rule)."""
    if not RECEIPT_CODE.match(receipt_code):
        raise ValueError(f"receipt code must be 8 digits, got {receipt_code!r}")
    return receipt_code + "01"


@dataclass(frozen=True, slots=True)
class ReceiptFace:
    """Every element of one e-receipt (the national layout, domain notes §1.3), as serialised.

    `payer_code` is the payer's FULL ID number or credit code: the signed XML is the legal
    record and carries it; screens, PDFs and logs show `payer_code_masked` only.
    `total_in_words` is the 大写 of `total_fen` (publicpay.domain.amounts_in_words). For a red
    receipt the amounts are negative and `original_code` / `original_number` name the receipt
    it reverses. The payee account (`rec_*`: 收款人全称/账号/开户行, the finance bureau's
    collection account), the specimen, supervisor and seal elements default to empty for faces
    read back from receipts issued before they existed.
    """

    code: str
    number: str
    check_code: str
    issued_at: datetime
    payer_name: str
    payer_code: str
    unit_name: str
    unit_code: str
    lines: tuple[ReceiptLine, ...]
    total_fen: int
    total_in_words: str
    payee: str
    checker: str
    payment_code: str
    channel_name: str
    verify_url: str
    title: str = DEFAULT_TITLE
    remark: str = ""
    payer_type: str = "person"
    kind: ReceiptKind = ReceiptKind.NORMAL
    original_code: str = ""
    original_number: str = ""
    specimen_code: str = ""  # EInvoiceSpecimenCode (see `specimen_code`)
    supervisor_area_code: str = ""  # SupervisorAreaCode: the supervising finance bureau
    supervisor_remark: str = ""  # SupervisorRemark (财政备注)
    rec_name: str = ""  # InvoicingParty/RecName: 收款人全称 (the collection account)
    rec_account: str = ""  # InvoicingParty/RecAcct: 收款人账号
    rec_bank: str = ""  # InvoicingParty/RecOpBk: 收款人开户行
    unit_seal: Seal = Seal()  # InvoicingPartySeal
    supervisor_seal: Seal = Seal(name=SUPERVISOR_SEAL_NAME)  # SupervisorPartySeal

    def __post_init__(self) -> None:
        if not RECEIPT_CODE.match(self.code):
            raise ValueError(f"receipt code must be 8 digits, got {self.code!r}")
        if not RECEIPT_NUMBER.match(self.number):
            raise ValueError(f"receipt number must be 10 digits, got {self.number!r}")
        if not CHECK_CODE.match(self.check_code):
            raise ValueError(f"check code must be 6 digits, got {self.check_code!r}")
        _require_aware(self.issued_at, "issued_at")
        if not self.lines:
            raise ValueError("a receipt needs at least one line")
        if sum(line.amount_fen for line in self.lines) != self.total_fen:
            raise ValueError("total_fen must equal the sum of the line amounts")
        if self.payer_type not in ("person", "org"):
            raise ValueError("payer_type must be 'person' or 'org'")
        self._check_kind()

    def _check_kind(self) -> None:
        if self.kind is ReceiptKind.RED:
            if not (
                RECEIPT_CODE.match(self.original_code)
                and RECEIPT_NUMBER.match(self.original_number)
            ):
                raise ValueError("a red receipt must name the original code and number")
            if self.total_fen > 0:
                raise ValueError("a red receipt carries a negative total")
        elif self.original_code or self.original_number:
            raise ValueError("only a red receipt names an original receipt")
        elif self.total_fen < 0:
            raise ValueError("a normal receipt carries a non-negative total")

    @property
    def is_red(self) -> bool:
        return self.kind is ReceiptKind.RED

    @property
    def payer_code_masked(self) -> str:
        """What screens and PDFs show: 110105********002X (already masked codes stay so)."""
        return mask_id(self.payer_code)
