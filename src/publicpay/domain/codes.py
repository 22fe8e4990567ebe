"""Identifier formats: payment codes (缴款码), GB 11643 citizen IDs, GB 32100 credit codes, masks.

Payment code check digit: the Damm algorithm, not ISO 7064 MOD 11,10. Both are single-digit
schemes that catch every single-digit substitution, but MOD 11,10 misses about 2 % of adjacent
transpositions: with running state P (10 at the start) it misses swapping the neighbouring digits
a, b exactly when {(P + a) mod 10, (P + b) mod 10} == {5, 6} -- e.g. "45" <-> "54" in first
position after P=1, or "56" <-> "65" as the first two digits (P=10). Damm's table is a weakly
totally anti-symmetric quasigroup, so it catches every single substitution and every adjacent
transposition, including those involving the check digit (proved exhaustively in the tests).
No region publishes a payment-code check digit (domain notes §2.3), so this is our own choice.

Payment code serials are not the payable's sequence number but a keyed permutation of it
(`SerialPermutation`): a format-preserving Feistel network over the 10^9 serials, keyed from the
platform secret, so consecutive payables get unrelated codes and nobody without the key can
step from one code to the next. A permutation is a bijection, so distinct payables still get
distinct codes. Serials below a configured floor are left to codes issued before (cycle-walking).

Citizen IDs: birth years from 1800 are accepted, because the standard's own example
440524188001010014 is born in 1880. Address codes are checked only for a real province prefix
(plus 81/82/83, the 港澳台居民居住证 prefixes); there is no district table, so new or renamed
districts are never refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from operator import mul
from zoneinfo import ZoneInfo

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.keyed_hmac import keyed_hmac

PAYMENT_CODE_LENGTH = 20
_MAX_SERIAL = 999_999_999
SERIALS = _MAX_SERIAL + 1
PAYMENT_CODE_KEY_PURPOSE = "publicpay/payment-code-serial/v1"  # the subkey's HKDF info
_CHINA = ZoneInfo("Asia/Shanghai")

# Province-level codes of GB/T 2260.
_PROVINCES = frozenset(
    [
        *range(11, 16),  # 华北
        *range(21, 24),  # 东北
        *range(31, 38),  # 华东
        *range(41, 47),  # 中南
        *range(50, 55),  # 西南
        *range(61, 66),  # 西北
        *(71, 81, 82, 83),  # 台湾, 香港, 澳门; 83 = 台湾居民居住证 (not in GB/T 2260)
    ]
)


class PayableType(StrEnum):
    """The 2-digit type in a payment code; one per fee catalogue category (spec P1)."""

    ADMIN_FEE = "01"
    FINE = "02"
    STATE_RESOURCE = "03"
    STATE_CAPITAL = "04"
    GOV_FUND = "05"
    SPECIAL = "06"
    OTHER = "99"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]

    @classmethod
    def for_category(cls, category: str) -> PayableType:
        """The type for a catalogue `Category` value (e.g. "fine" -> FINE)."""
        return _TYPE_BY_CATEGORY[category]


_TYPE_LABELS = {
    PayableType.ADMIN_FEE: "行政事业性收费",
    PayableType.FINE: "罚没收入",
    PayableType.STATE_RESOURCE: "国有资源(资产)有偿使用收入",
    PayableType.STATE_CAPITAL: "国有资本经营收入",
    PayableType.GOV_FUND: "政府性基金收入",
    PayableType.SPECIAL: "专项收入",
    PayableType.OTHER: "其他收入",
}

_TYPE_BY_CATEGORY = {
    "admin_fee": PayableType.ADMIN_FEE,
    "fine": PayableType.FINE,
    "state_resource": PayableType.STATE_RESOURCE,
    "state_capital": PayableType.STATE_CAPITAL,
    "gov_fund": PayableType.GOV_FUND,
    "special": PayableType.SPECIAL,
    "other": PayableType.OTHER,
}


# ---------------------------------------------------------------- payment code (缴款码)

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_check_digit(digits: str) -> str:
    """The Damm check digit for a string of decimal digits."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


@dataclass(frozen=True, slots=True)
class PaymentCodeParts:
    region: str  # 6-digit GB/T 2260 administrative division
    year2: int  # last two digits of the year
    type_code: PayableType
    serial: int  # 1..999 999 999 within region, year and type

    @property
    def year(self) -> int:
        return 2000 + self.year2


@dataclass(frozen=True, slots=True)
class SerialPermutation:
    """A keyed permutation of the serials [floor, 10^(left + right)).

    The core is a numeric Feistel network as in NIST SP 800-38G FF1: the serial is split into a
    `left`-digit and a `right`-digit half (4 + 5 for the 10^9 serials of a payment code), and
    each of `rounds` rounds adds, modulo a power of ten, HMAC-SHA256(key, round || other half)
    to one half and swaps them. Every round is invertible, so the whole is a bijection of the
    domain; `inverse` undoes it. Serials below `floor` (kept by codes issued before the
    permutation) are skipped by cycle-walking: a result below the floor is permuted again until
    it is not, which is a bijection of [floor, size) onto itself. Pure and deterministic: the
    same key always maps a serial to the same value.
    """

    key: bytes
    floor: int = 0
    left: int = 4
    right: int = 5
    rounds: int = 10

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("the permutation key needs at least 16 bytes")
        if not 0 <= self.floor < self.size - 1:
            raise ValueError(f"floor {self.floor} leaves no serials in 0..{self.size - 1}")

    @property
    def size(self) -> int:
        return _pow10(self.left + self.right)

    def __call__(self, serial: int) -> int:
        self._check(serial)
        value = self._forward(serial)
        while value < self.floor:
            value = self._forward(value)
        return value

    def inverse(self, permuted: int) -> int:
        self._check(permuted)
        value = self._backward(permuted)
        while value < self.floor:
            value = self._backward(value)
        return value

    def _check(self, value: int) -> None:
        if not self.floor <= value < self.size:
            raise ValueError(f"serial {value} outside {self.floor}..{self.size - 1}")

    def _forward(self, value: int) -> int:
        # a round's value: the first 16 bytes of HMAC-SHA256(key, prefix || other half), the
        # MAC keyed once (`keyed_hmac`; a test holds the permutation to the first release)
        mac = keyed_hmac(self.key).digest
        a, b = divmod(value, _pow10(self.right))
        for prefix, modulus in _schedule(self.left, self.right, self.rounds):
            f = int.from_bytes(mac(prefix + b.to_bytes(8, "big"))[:16], "big")
            a, b = b, (a + f) % modulus
        return a * _pow10(self.right) + b

    def _backward(self, value: int) -> int:
        mac = keyed_hmac(self.key).digest
        a, b = divmod(value, _pow10(self.right))
        for prefix, modulus in reversed(_schedule(self.left, self.right, self.rounds)):
            f = int.from_bytes(mac(prefix + a.to_bytes(8, "big"))[:16], "big")
            a, b = (b - f) % modulus, a
        return a * _pow10(self.right) + b


@lru_cache(maxsize=8)
def payment_code_permutation(key: bytes, floor: int) -> SerialPermutation:
    """The payment codes' permutation under `key`, above `floor` (made once per key and floor:
    a permutation is pure, it holds nothing of any payable)."""
    return SerialPermutation(key, floor=floor)


@lru_cache(maxsize=8)
def _schedule(left: int, right: int, rounds: int) -> tuple[tuple[bytes, int], ...]:
    """Each round's message prefix (round number and the halves' sizes) and modulus (a power
    of ten: the left half's size in even rounds, the right half's in odd ones)."""
    return tuple(
        (bytes((i, left, right)), _pow10(left if i % 2 == 0 else right)) for i in range(rounds)
    )


def _pow10(digits: int) -> int:
    return int(10**digits)


def make_payment_code(region: str, year: int, type_code: str, serial: int) -> str:
    """区划6 + 年2 + 类型2 + 序号9 + Damm check digit. Bad arguments are bugs: ValueError."""
    if not _is_region(region):
        raise ValueError(f"region must be a 6-digit division code: {region!r}")
    if not 2000 <= year <= 2099:
        raise ValueError(f"year out of range: {year}")
    if not 0 <= serial <= _MAX_SERIAL:
        raise ValueError(f"serial out of range: {serial}")
    body = f"{region}{year % 100:02d}{PayableType(type_code).value}{serial:09d}"
    return body + damm_check_digit(body)


def normalise_payment_code(code: str) -> str:
    """Drop whitespace, so '3206 8226 0100 0000 0017' as printed in groups is accepted."""
    return "".join(code.split())


def parse_payment_code(code: str) -> PaymentCodeParts:
    """Split a typed or scanned payment code; ValidationFailed with a Chinese message if bad."""
    code = normalise_payment_code(code)
    if len(code) != PAYMENT_CODE_LENGTH or not _is_ascii_digits(code):
        raise ValidationFailed("缴款码应为20位数字", errors={"payment_code": "缴款码应为20位数字"})
    if damm_check_digit(code) != "0":
        message = "缴款码校验位错误，请核对后重新输入"
        raise ValidationFailed(message, errors={"payment_code": message})
    if not _is_region(code[:6]) or code[8:10] not in _TYPE_VALUES:
        raise ValidationFailed("缴款码无效", errors={"payment_code": "缴款码无效"})
    return PaymentCodeParts(code[:6], int(code[6:8]), PayableType(code[8:10]), int(code[10:19]))


def is_valid_payment_code(code: str) -> bool:
    try:
        parse_payment_code(code)
    except ValidationFailed:
        return False
    return True


_TYPE_VALUES = frozenset(t.value for t in PayableType)


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_region(region: str) -> bool:
    return len(region) == 6 and _is_ascii_digits(region) and int(region[:2]) in _PROVINCES


# ---------------------------------------------------------------- GB 11643 citizen ID

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH = dt.date(1800, 1, 1)


def normalise_citizen_id(id_no: str) -> str:
    return id_no.strip().upper()


def citizen_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise ValueError("citizen ID body must be 17 digits")
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))  # 17 digits, 17 weights
    return _ID_CHECK_CHARS[total % 11]


def is_valid_citizen_id(id_no: str, *, today: dt.date | None = None) -> bool:
    """18-character GB 11643 number: province, real birth date (1800..today), check char."""
    id_no = normalise_citizen_id(id_no)
    if len(id_no) != 18 or not _is_ascii_digits(id_no[:17]):
        return False
    if not _is_region(id_no[:6]) or not _is_birth_date(id_no[6:14], today):
        return False
    return citizen_id_check_char(id_no[:17]) == id_no[17]


def _is_birth_date(yyyymmdd: str, today: dt.date | None) -> bool:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= born <= (today or dt.datetime.now(_CHINA).date())


# ---------------------------------------------------------------- GB 32100 credit code

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# 登记管理部门 -> allowed 机构类别 (GB 32100-2015 with amendments, domain notes §5.2).
CREDIT_CODE_CATEGORIES: dict[str, frozenset[str]] = {
    "1": frozenset("1239"),  # 机构编制: 机关, 事业单位, 群众团体, 其他
    "2": frozenset("19"),  # 外交
    "3": frozenset("123459"),  # 司法行政
    "4": frozenset("19"),  # 文化
    "5": frozenset("1239"),  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": frozenset("129"),  # 旅游
    "7": frozenset("129"),  # 宗教
    "8": frozenset("19"),  # 工会
    "9": frozenset("123"),  # 市场监管: 企业, 个体工商户, 农民专业合作社
    "A": frozenset("19"),  # 中央军委改革和编制办公室
    "N": frozenset("1239"),  # 农业: 集体经济组织
    "Y": frozenset("1"),  # 其他
}


def normalise_credit_code(code: str) -> str:
    return code.strip().upper()


def credit_code_check_char(first17: str) -> str:
    """GB 32100 MOD 31 check character for the first 17 characters."""
    if len(first17) != 17 or any(c not in _USCC_ALPHABET for c in first17):
        raise ValueError("credit code body must be 17 characters of the GB 32100 alphabet")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[-total % 31]


def organisation_code_check_char(first8: str) -> str:
    """GB 11714 check character for the 8-character organisation code body."""
    total = sum(_org_value(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def is_valid_credit_code(code: str) -> bool:
    """Department/category pair, 6-digit region, embedded GB 11714 check and MOD 31 check."""
    code = normalise_credit_code(code)
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    if code[1] not in CREDIT_CODE_CATEGORIES.get(code[0], frozenset()):
        return False
    if not code[2:8].isdigit() or organisation_code_check_char(code[8:16]) != code[16]:
        return False
    return credit_code_check_char(code[:17]) == code[17]


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - 55


# ---------------------------------------------------------------- bank accounts (refunds)

BANK_CARD_LENGTHS = range(16, 20)  # personal bank cards (银行卡): ISO/IEC 7812, Luhn check digit


def normalise_bank_account(number: str) -> str:
    """Spaces and hyphens people type between digit groups are dropped."""
    return number.replace(" ", "").replace("-", "").strip()


def luhn_ok(digits: str) -> bool:
    total = 0
    for n, char in enumerate(reversed(digits)):
        value = int(char) * (2 if n % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def bank_account_problem(number: str) -> str | None:
    """Why `number` cannot be a payee account (None when it can): digits only, 10–30 of them;
    a personal bank card (16–19 digits, starting with 4, 5 or 6 (UnionPay 62…)) must pass its
    Luhn check digit. Corporate settlement accounts carry no public check digit."""
    if not _is_ascii_digits(number):
        return "银行账号只能由数字组成"
    if not 10 <= len(number) <= 30:
        return "银行账号应为10–30位数字"
    if len(number) in BANK_CARD_LENGTHS and number[0] in "456" and not luhn_ok(number):
        return "银行卡号校验位错误，请核对卡号"
    return None


def mask_account(number: str) -> str:
    """Keep the first 4 and last 4 digits: 6222 **** **** 0123 → 6222***********0123."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


# ---------------------------------------------------------------- masks for screens and logs


def mask_id(id_no: str) -> str:
    """Keep the first 6 and last 4 characters: 110105********002X."""
    id_no = id_no.strip()
    if len(id_no) <= 10:
        return "*" * len(id_no)
    return id_no[:6] + "*" * (len(id_no) - 10) + id_no[-4:]


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    phone = phone.strip()
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, 欧阳娜娜 -> 欧**娜; a one-character name is fully masked."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
