from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.money import InvalidAmount, Money, allocate_fen, format_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [("120.5", 12050), ("120.50", 12050), ("0.01", 1), ("100", 10000), ("-3.07", -307)],
)
def test_from_yuan_is_exact(text: str, fen: int) -> None:
    assert Money.from_yuan(text).fen == fen


@pytest.mark.parametrize("text", ["1.001", "1e3", "", "abc", "1,000.00", "0.1.2", " . "])
def test_from_yuan_refuses_anything_but_whole_fen(text: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_yuan(text)


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_yuan_text_round_trips(fen: int) -> None:
    assert Money.from_yuan(Money(fen).to_yuan()) == Money(fen)


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=6).filter(any),
)
def test_allocate_sums_exactly(total: int, weights: list[int]) -> None:
    parts = allocate_fen(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


def test_allocate_gives_remainders_to_the_later_share_on_ties() -> None:
    assert allocate_fen(101, [1, 1]) == [50, 51]


def test_format_yuan_for_screens() -> None:
    assert format_yuan(140950) == "¥1,409.50"
