"""大写金额 and 大写日期 per the PBoC rules (《正确填写票据和结算凭证的基本规定》, domain notes §4).

We use the "omit the optional 零" variant: no 零 after 元 when 角 is non-zero (1680.32 →
壹仟陆佰捌拾元叁角贰分) and none between sections when the lower section has a non-zero 仟
(107000.53 → 壹拾万柒仟元伍角叁分). A 零 is always written for a zero run inside a section, before
a lower section under 1000 (1000010 → 壹佰万零壹拾元整), where a whole 万 section is zero and
something follows (100001000 → 壹亿零壹仟元整), and between 元 and 分 when 角 is zero.
整 is appended only when the amount ends at 元; an amount ending in 角 gets no 整 (伍角).
A leading ten is written 壹拾. Amounts from 0 up to 9999亿9999万9999元9角9分.
"""

from __future__ import annotations

import datetime as dt

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTION_UNITS = ("亿", "万", "")  # highest first
_SECTION = 10_000
MAX_FEN = _SECTION**3 * 100 - 1  # 9999亿9999万9999元9角9分


def amount_in_words(fen: int) -> str:
    """壹仟肆佰零玖元伍角 for 140950 fen; 零元整 for 0; ValueError for negative or too large."""
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"amount out of range for 大写: {fen}")
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if fen == 0:
        return "零元整"
    integer = _yuan_words(yuan) + "元" if yuan else ""
    if cents == 0:
        return integer + "整"
    return integer + _cents_words(jiao, fen_digit, has_yuan=yuan > 0)


def amount_in_words_rmb(fen: int) -> str:
    """The form printed on notices and receipts: 人民币壹仟肆佰零玖元伍角."""
    return "人民币" + amount_in_words(fen)


def date_in_words(day: dt.date) -> str:
    """贰零贰陆年零壹月壹拾伍日: year digit by digit, month and day with the leading 零/壹 rule."""
    year = "".join(_DIGITS[int(c)] for c in f"{day.year:04d}")
    return f"{year}年{_month_or_day_words(day.month)}月{_month_or_day_words(day.day)}日"


def _month_or_day_words(number: int) -> str:
    """1-9 → 零X, 10/20/30 → 零壹拾/零贰拾/零叁拾, 11-19 → 壹拾X, 21-29 → 贰拾X, 31 → 叁拾壹."""
    tens, ones = divmod(number, 10)
    if tens == 0:
        return "零" + _DIGITS[ones]
    words = _DIGITS[tens] + "拾" + (_DIGITS[ones] if ones else "")
    return "零" + words if ones == 0 else words


def _cents_words(jiao: int, fen_digit: int, *, has_yuan: bool) -> str:
    if jiao == 0:
        return ("零" if has_yuan else "") + _DIGITS[fen_digit] + "分"
    words = _DIGITS[jiao] + "角"
    return words + (_DIGITS[fen_digit] + "分" if fen_digit else "")


def _yuan_words(yuan: int) -> str:
    """Words for a positive integer of yuan, sections 亿/万/个 of four digits each."""
    sections = [(yuan // _SECTION ** (2 - i)) % _SECTION for i in range(3)]
    words = ""
    pending_zero = False
    for value, unit in zip(sections, _SECTION_UNITS, strict=True):
        if value == 0:
            pending_zero = bool(words)
            continue
        if words and (pending_zero or value < 1000):
            words += "零"
        words += _section_words(value) + unit
        pending_zero = False
    return words


def _section_words(value: int) -> str:
    """1..9999 without leading zeros; one 零 for an inner zero run, none at the end."""
    words = ""
    zero_run = False
    for digit, unit in zip(f"{value:04d}", ("仟", "佰", "拾", ""), strict=True):
        if digit == "0":
            zero_run = bool(words)
            continue
        words += ("零" if zero_run else "") + _DIGITS[int(digit)] + unit
        zero_run = False
    return words
