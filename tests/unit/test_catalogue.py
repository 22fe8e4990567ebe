from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.demo.catalogue_data import PASSPORT, TRAFFIC_FINE, VEHICLE_OFFICE
from publicpay.domain.catalogue import BudgetLevel, LevelShare, Split
from publicpay.domain.errors import ValidationFailed


def test_vehicle_office_has_two_categories_of_eighteen_items() -> None:
    assert len(VEHICLE_OFFICE) == 18
    assert {item.budget_subject for item in VEHICLE_OFFICE} == {"103040101", "103040102"}


def test_passport_is_priced_by_the_standard_in_force_on_the_business_date() -> None:
    assert PASSPORT.price(1, None, date(2016, 5, 1)) == (20000, 20000)
    assert PASSPORT.price(1, None, date(2018, 5, 1)) == (16000, 16000)
    assert PASSPORT.price(2, None, date(2026, 11, 22)) == (12000, 24000)


def test_fixed_standard_refuses_another_amount() -> None:
    with pytest.raises(ValidationFailed):
        PASSPORT.price(1, 12001, date(2026, 1, 1))


def test_decision_standard_needs_an_amount_within_its_cap() -> None:
    assert TRAFFIC_FINE.price(1, 20000, date(2026, 1, 1)) == (20000, 20000)
    with pytest.raises(ValidationFailed):
        TRAFFIC_FINE.price(1, None, date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        TRAFFIC_FINE.price(1, 200_001, date(2026, 1, 1))


def test_no_standard_before_the_item_existed() -> None:
    with pytest.raises(ValidationFailed):
        PASSPORT.price(1, None, date(1999, 1, 1))


def test_split_gives_the_remainder_to_the_lowest_level() -> None:
    split = Split((LevelShare(BudgetLevel.CENTRAL, 5), LevelShare(BudgetLevel.CITY, 5)))
    assert split.apply(101) == {BudgetLevel.CENTRAL: 50, BudgetLevel.CITY: 51}


def test_split_takes_fixed_shares_first() -> None:
    split = Split(
        (
            LevelShare(BudgetLevel.CENTRAL, fixed_fen=10000),
            LevelShare(BudgetLevel.PROVINCE, 2),
            LevelShare(BudgetLevel.COUNTY, 8),
        )
    )
    assert split.apply(20000) == {
        BudgetLevel.CENTRAL: 10000,
        BudgetLevel.PROVINCE: 2000,
        BudgetLevel.COUNTY: 8000,
    }


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=4),
)
def test_split_always_sums_to_the_amount(amount: int, weights: list[int]) -> None:
    levels = list(BudgetLevel)[: len(weights)]
    split = Split(tuple(LevelShare(level, w) for level, w in zip(levels, weights, strict=False)))
    assert sum(split.apply(amount).values()) == amount
