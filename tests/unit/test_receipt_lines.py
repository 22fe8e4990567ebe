"""Receipt lines after refunds: the refund comes off the last lines first, in whole units where
it can; every line of every receipt (normal, red, replacement) shows quantity × standard =
amount, and the lines add up to what is kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.receipts.receipts import (
    ReceiptLine,
    is_whole,
    kept_after_refund,
    negated_lines,
    whole_line,
)

TUITION = ReceiptLine("JY0101", "学费", "学期", 1, 110_000, 110_000)
PLATES = ReceiptLine("GA0101", "汽车号牌", "副", 3, 10_000, 30_000)
LICENCE = ReceiptLine("GA0107", "机动车行驶证", "本", 2, 1_000, 2_000)


def test_a_refund_comes_off_the_last_line_in_whole_units() -> None:
    assert kept_after_refund((PLATES, LICENCE), 1_000) == (
        PLATES,
        ReceiptLine("GA0107", "机动车行驶证", "本", 1, 1_000, 1_000),
    )


def test_a_refund_larger_than_the_last_line_drops_it_and_reaches_the_one_before() -> None:
    assert kept_after_refund((PLATES, LICENCE), 22_000) == (
        ReceiptLine("GA0101", "汽车号牌", "副", 1, 10_000, 10_000),
    )


def test_a_line_that_can_only_partly_be_refunded_shows_one_times_what_is_kept() -> None:
    # the example: 1 × 1,100.00 tuition less 231.58 -- once 1 × 1,100.00 = 868.42
    assert kept_after_refund((TUITION,), 23_158) == (
        ReceiptLine("JY0101", "学费", "学期", 1, 86_842, 86_842),
    )
    assert kept_after_refund((PLATES,), 15_000) == (
        ReceiptLine("GA0101", "汽车号牌", "副", 1, 15_000, 15_000),
    )


def test_nothing_refunded_keeps_every_line_and_everything_refunded_keeps_none() -> None:
    assert kept_after_refund((PLATES, LICENCE), 0) == (PLATES, LICENCE)
    assert kept_after_refund((PLATES, LICENCE), 32_000) == ()


def test_refunding_more_than_the_lines_is_a_bug() -> None:
    with pytest.raises(ValueError, match="outside"):
        kept_after_refund((LICENCE,), 2_001)
    with pytest.raises(ValueError, match="outside"):
        kept_after_refund((LICENCE,), -1)


def test_red_lines_negate_quantity_and_amount_and_stay_whole() -> None:
    red = negated_lines((PLATES, ReceiptLine("X", "旧票行", "次", 1, 110_000, 86_842)))
    assert red == (
        ReceiptLine("GA0101", "汽车号牌", "副", -3, 10_000, -30_000),
        ReceiptLine("X", "旧票行", "次", -1, 86_842, -86_842),  # an old, not whole line
    )
    assert all(is_whole(line) for line in red)


def test_a_line_whose_amount_does_not_divide_by_its_quantity_becomes_one_times_the_amount() -> None:
    odd = ReceiptLine("CG0101", "场地使用费", "次", 3, 333, 1_000)  # a range amount for 3
    assert whole_line(odd) == ReceiptLine("CG0101", "场地使用费", "次", 1, 1_000, 1_000)
    assert whole_line(LICENCE) is LICENCE
    half = ReceiptLine("JY0201", "住宿费", "月", Decimal("1.5"), 2_000, 3_000)
    assert whole_line(half) is half
    assert kept_after_refund((half,), 2_000) == (
        ReceiptLine("JY0201", "住宿费", "月", 1, 1_000, 1_000),
    )


lines_strategy = st.lists(
    st.builds(
        lambda n, q, s: ReceiptLine(f"I{n:02d}", f"项目{n}", "次", q, s, q * s),
        st.integers(0, 99),
        st.integers(1, 20),
        st.integers(1, 10**6),
    ),
    min_size=1,
    max_size=6,
)


@given(lines_strategy, st.lists(st.integers(min_value=1, max_value=10**7), max_size=6))
def test_after_any_refunds_every_line_is_whole_and_the_lines_add_up_to_what_is_kept(
    original: list[ReceiptLine], requests: list[int]
) -> None:
    total = sum(line.amount_fen for line in original)
    live, refunded = tuple(original), 0
    for request in requests:
        amount = min(request, total - refunded)
        kept = kept_after_refund(live, amount)
        refunded += amount
        assert sum(line.amount_fen for line in kept) == total - refunded
        assert all(is_whole(line) and line.quantity > 0 for line in kept)
        assert all(is_whole(line) for line in negated_lines(live))
        changed = [i for i, line in enumerate(kept) if line != live[i]]
        assert changed in ([], [len(kept) - 1])  # only the last kept line may have changed
        assert all(k.amount_fen <= o.amount_fen for k, o in zip(kept, live, strict=False))
        live = kept
