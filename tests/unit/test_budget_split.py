"""Budget-level splits (分成): invalid configurations are refused wherever a fee item is made,
the parts always add up with the remainder at the lowest level, and refunds come back per level
cumulatively, never negative and never more than the level received."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.adapters.db.catalogue import split_from_json, split_to_json
from publicpay.demo import catalogue_data
from publicpay.domain.catalogue import (
    BudgetLevel,
    Destination,
    InvalidSplit,
    LevelShare,
    Split,
    refund_slices,
    returned_by_part,
    split_problems,
    validate_split,
)
from publicpay.domain.ledger import Share, refund_shares

CENTRAL, PROVINCE, CITY, COUNTY = BudgetLevel


def _refused(*shares: LevelShare) -> InvalidSplit:
    with pytest.raises(InvalidSplit) as caught:
        Split(shares)
    assert caught.value.code == "validation_failed"
    assert caught.value.detail.startswith("预算级次分成配置无效：")
    return caught.value


def test_a_level_listed_twice_is_refused() -> None:
    refusal = _refused(LevelShare(COUNTY, fixed_fen=100), LevelShare(COUNTY, weight=1))
    assert refusal.errors == {"split[1].level": "预算级次「区县」重复出现，每个级次只能配置一次"}


def test_a_fixed_amount_and_a_ratio_at_one_level_are_refused() -> None:
    refusal = _refused(LevelShare(CENTRAL, weight=1, fixed_fen=100), LevelShare(COUNTY, 1))
    assert refusal.errors == {"split[0]": "中央级同时配置了定额和比例，同一级次只能二选一"}


def test_fixed_amounts_only_are_refused() -> None:
    refusal = _refused(LevelShare(CENTRAL, fixed_fen=100), LevelShare(CITY, fixed_fen=50))
    assert refusal.errors == {"split": "至少需要一个按比例分成的级次，用于承接定额以外的金额"}


def test_zero_and_negative_weights_are_refused() -> None:
    refusal = _refused(LevelShare(CENTRAL, 0), LevelShare(COUNTY, -1))
    assert refusal.errors == {
        "split[0].weight": "中央级的比例权重应为正整数（不能为0）",
        "split[1].weight": "区县级的比例权重应为非负整数",
    }


def test_a_fixed_amount_must_be_positive_whole_fen() -> None:
    refusal = _refused(LevelShare(CENTRAL, fixed_fen=0), LevelShare(COUNTY, 1))
    assert refusal.errors == {"split[0].fixed_fen": "中央级的定额应为正整数（分）"}
    bad_type = LevelShare(CENTRAL, fixed_fen=1.5)  # type: ignore[arg-type]
    assert "split[0].fixed_fen" in _refused(bad_type, LevelShare(COUNTY, 1)).errors


def test_an_empty_split_is_refused() -> None:
    assert _refused().errors == {"split": "预算级次分成不能为空，至少配置一个级次"}


def test_every_problem_is_reported_at_once() -> None:
    problems = split_problems(
        (LevelShare(CITY, 0), LevelShare(CITY, 2, fixed_fen=5), LevelShare(COUNTY, -3))
    )
    assert set(problems) == {"split[0].weight", "split[1].level", "split[1]", "split[2].weight"}


def test_a_split_loaded_from_the_catalogue_table_is_validated() -> None:
    stored = [
        {"level": "county", "weight": 0, "fixed_fen": 100},
        {"level": "county", "weight": 1, "fixed_fen": None},
    ]
    with pytest.raises(InvalidSplit, match="重复出现"):
        split_from_json(stored)
    good = Split((LevelShare(CENTRAL, fixed_fen=100), LevelShare(COUNTY, 1)))
    assert split_from_json(split_to_json(good)) == good


def test_a_fee_item_cannot_be_made_with_an_invalid_split() -> None:
    with pytest.raises(InvalidSplit):
        replace(
            catalogue_data.PASSPORT,
            split=Split((LevelShare(CENTRAL, 5), LevelShare(CENTRAL, 5))),
        )


def test_every_seeded_item_has_a_valid_split() -> None:
    items = [*catalogue_data.VEHICLE_OFFICE, catalogue_data.PASSPORT, catalogue_data.TRAFFIC_FINE]
    for item in items:
        validate_split(item.split.shares)


def test_the_remainder_goes_to_the_lowest_level_whatever_the_declared_order() -> None:
    split = Split((LevelShare(COUNTY, 1), LevelShare(CENTRAL, 1)))
    assert split.apply(101) == {CENTRAL: 50, COUNTY: 51}
    fixed_low = Split(
        (LevelShare(COUNTY, fixed_fen=100), LevelShare(CENTRAL, 1), LevelShare(CITY, 1))
    )
    assert fixed_low.apply(1001) == {CENTRAL: 450, CITY: 450, COUNTY: 101}


def test_fixed_amounts_are_taken_from_the_highest_level_down_when_the_amount_is_short() -> None:
    split = Split(
        (LevelShare(CITY, fixed_fen=300), LevelShare(CENTRAL, fixed_fen=500), LevelShare(COUNTY, 1))
    )
    assert split.apply(600) == {CENTRAL: 500, CITY: 100, COUNTY: 0}
    assert split.apply(1000) == {CENTRAL: 500, CITY: 300, COUNTY: 200}


@st.composite
def valid_splits(draw: st.DrawFn) -> Split:
    levels = draw(st.lists(st.sampled_from(list(BudgetLevel)), min_size=1, max_size=4, unique=True))
    weighted = draw(st.integers(min_value=0, max_value=len(levels) - 1))  # at least one ratio
    shares = []
    for i, level in enumerate(levels):
        if i == weighted or draw(st.booleans()):
            shares.append(LevelShare(level, weight=draw(st.integers(1, 1000))))
        else:
            shares.append(LevelShare(level, fixed_fen=draw(st.integers(1, 10**7))))
    return Split(tuple(shares))


@given(valid_splits(), st.integers(min_value=0, max_value=10**11))
def test_the_parts_always_sum_to_the_amount_with_the_remainder_at_the_lowest_level(
    split: Split, amount: int
) -> None:
    parts = split.apply(amount)
    assert sum(parts.values()) == amount
    assert all(part >= 0 for part in parts.values())
    assert set(parts) == {share.level for share in split.shares}
    fixed = {s.level: s.fixed_fen for s in split.shares if s.fixed_fen is not None}
    weighted = {s.level: s.weight for s in split.shares if s.fixed_fen is None}
    rest = amount - sum(min(parts[level], fen) for level, fen in fixed.items())
    for level, weight in weighted.items():
        exact = Fraction(rest * weight, sum(weighted.values()))
        if level is split.lowest:
            assert parts[level] >= exact  # it also takes every fen the rounding left
        else:
            assert parts[level] == exact.__floor__()
    for level, fen in fixed.items():
        if level is not split.lowest:
            assert parts[level] <= fen


# ---------------------------------------------------------------- refunds per level


def test_largest_remainder_would_take_back_a_negative_slice_but_greatest_divisors_do_not() -> None:
    paid = [2, 19, 45]
    assert returned_by_part(paid, 50) == [1, 14, 35]
    assert returned_by_part(paid, 51) == [1, 15, 35]
    assert refund_slices(paid, 50, 1) == [0, 1, 0]


def test_a_negative_or_excessive_refund_is_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        refund_slices([100, 200], 0, -1)
    with pytest.raises(ValueError, match="outside"):
        refund_slices([100, 200], 250, 51)


def _sequential(paid: list[int], refunded: int) -> list[int]:
    """The definition: one fen at a time to the largest paid / (returned + 1), ties later."""
    returned = [0] * len(paid)
    for _ in range(refunded):
        best = max(range(len(paid)), key=lambda i: (Fraction(paid[i], returned[i] + 1), i))
        returned[best] += 1
    return returned


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=5), st.data())
def test_the_quick_computation_is_the_one_fen_at_a_time_definition(
    paid: list[int], data: st.DataObject
) -> None:
    refunded = data.draw(st.integers(min_value=0, max_value=sum(paid)))
    assert returned_by_part(paid, refunded) == _sequential(paid, refunded)


@given(
    st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=8),
    st.lists(st.integers(min_value=1, max_value=10**8), max_size=8),
    st.booleans(),
)
def test_partial_refunds_per_level_are_never_negative_never_exceed_and_end_exact(
    paid: list[int], requests: list[int], finish: bool
) -> None:
    total = sum(paid)
    returned, refunded = [0] * len(paid), 0
    amounts = list(requests)
    if finish:
        amounts.append(total)
    for request in amounts:
        amount = min(request, total - refunded)
        slices = refund_slices(paid, refunded, amount)
        assert sum(slices) == amount
        assert all(part >= 0 for part in slices)
        returned = [r + s for r, s in zip(returned, slices, strict=True)]
        refunded += amount
        assert all(0 <= r <= p for r, p in zip(returned, paid, strict=True))
    if refunded == total:
        assert returned == paid


@given(st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=10))
def test_refund_shares_of_the_ledger_use_the_cumulative_slices(requests: list[int]) -> None:
    shares = [
        Share(Destination.TREASURY, CENTRAL, 2),
        Share(Destination.TREASURY, CITY, 19),
        Share(Destination.SPECIAL_ACCOUNT, COUNTY, 45),
    ]
    total, refunded = 66, 0
    back = {s.level: 0 for s in shares}
    for request in [*requests, total]:
        amount = min(request, total - refunded)
        for share in refund_shares(shares, refunded, amount):
            assert share.amount_fen > 0
            back[share.level] += share.amount_fen
        refunded += amount
    assert back == {s.level: s.amount_fen for s in shares}
