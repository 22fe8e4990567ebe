import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.amounts_in_words import (
    MAX_FEN,
    amount_in_words,
    amount_in_words_rmb,
    date_in_words,
)
from publicpay.domain.money import Money

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
FORBIDDEN = set("一二三四五六七八九十两毛另")


def words_to_fen(words: str) -> int:
    """Test-only reader of 大写金额 back to fen (a bare 拾 without 壹 reads as 0 and fails)."""
    total = section = digit = fen = 0
    for char in words:
        if char in DIGITS:
            digit = DIGITS.index(char)
        elif char in SMALL_UNITS:
            section, digit = section + digit * SMALL_UNITS[char], 0
        elif char in "亿万元":
            scale = {"亿": 10**8, "万": 10**4, "元": 1}[char]
            total, section, digit = total + (section + digit) * scale, 0, 0
        elif char in "角分":
            fen, digit = fen + digit * (10 if char == "角" else 1), 0
        else:
            assert char == "整", words
    return total * 100 + fen


@pytest.mark.parametrize(
    ("yuan", "words"),
    [
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("100", "壹佰元整"),
        ("10", "壹拾元整"),
        ("0.05", "伍分"),
        ("1000010", "壹佰万零壹拾元整"),
        ("100000000", "壹亿元整"),
        ("240968", "贰拾肆万零玖佰陆拾捌元整"),
    ],
)
def test_official_vectors_in_yuan(yuan: str, words: str) -> None:
    assert amount_in_words(Money.from_yuan(yuan).fen) == words


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (1, "壹分"),
        (50, "伍角"),
        (55, "伍角伍分"),
        (100, "壹元整"),
        (1_000, "壹拾元整"),
        (1_100, "壹拾壹元整"),
        (10_150, "壹佰零壹元伍角"),
        (18_850, "壹佰捌拾捌元伍角"),
        (1_000_000, "壹万元整"),
        (1_000_100, "壹万零壹元整"),
        (100_000_000, "壹佰万元整"),
        (100_100_000_000, "壹拾亿零壹佰万元整"),
        (10_000_100_000, "壹亿零壹仟元整"),
        (10_001_000_000, "壹亿零壹万元整"),
        (10_000_000_001, "壹亿元零壹分"),
        (MAX_FEN, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_more_amounts(fen: int, words: str) -> None:
    assert amount_in_words(fen) == words


def test_rmb_prefix_has_no_gap() -> None:
    assert amount_in_words_rmb(140_950) == "人民币壹仟肆佰零玖元伍角"


@pytest.mark.parametrize("fen", [-1, MAX_FEN + 1])
def test_negative_or_too_large_amount_is_refused(fen: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        amount_in_words(fen)


@given(st.integers(0, 10**12))
def test_words_read_back_to_the_same_amount(fen: int) -> None:
    words = amount_in_words(fen)
    assert words_to_fen(words) == fen
    assert not FORBIDDEN & set(words)


@given(st.integers(1, MAX_FEN))
def test_words_follow_the_zero_and_ending_rules(fen: int) -> None:
    words = amount_in_words(fen)
    assert "零零" not in words
    assert not words.startswith("零")
    for unit in "亿万元角分整":
        assert "零" + unit not in words
    assert words.endswith("整") == (fen % 100 == 0)
    assert words.endswith(("整", "角", "分"))


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (dt.date(2026, 1, 15), "贰零贰陆年零壹月壹拾伍日"),
        (dt.date(2026, 10, 20), "贰零贰陆年零壹拾月零贰拾日"),
        (dt.date(2026, 11, 10), "贰零贰陆年壹拾壹月零壹拾日"),
        (dt.date(2026, 12, 31), "贰零贰陆年壹拾贰月叁拾壹日"),
        (dt.date(2030, 2, 9), "贰零叁零年零贰月零玖日"),
        (dt.date(2026, 3, 30), "贰零贰陆年零叁月零叁拾日"),
        (dt.date(2026, 3, 21), "贰零贰陆年零叁月贰拾壹日"),
    ],
)
def test_dates_in_words(day: dt.date, words: str) -> None:
    assert date_in_words(day) == words
