from __future__ import annotations

import pytest

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.accounts import (
    region_ancestors,
    scope_chain,
    scope_within,
    validate_scope,
)


def test_a_district_belongs_to_its_city_and_province() -> None:
    assert region_ancestors("330105") == ["330105", "330100", "330000"]
    assert region_ancestors("330100") == ["330100", "330000"]
    assert region_ancestors("330000") == ["330000"]


def test_accounts_are_tried_from_the_unit_up_to_the_platform() -> None:
    assert scope_chain("330105201", "330105") == [
        "unit:330105201",
        "region:330105",
        "region:330100",
        "region:330000",
        "*",
    ]


def test_a_bureau_configures_its_region_and_below_only() -> None:
    units = {"330105201": "330105", "330206001": "330206"}
    assert scope_within("region:330105", "330105", units)
    assert scope_within("unit:330105201", "330105", units)
    assert scope_within("unit:330105201", "330100", units)  # the city above may
    assert not scope_within("region:330100", "330105", units)  # not upwards
    assert not scope_within("unit:330206001", "330105", units)  # not a neighbour's unit
    assert not scope_within("unit:unknown", "330105", units)
    assert not scope_within("*", "330105", units)


@pytest.mark.parametrize("scope", ["", "city", "region:3301", "unit:", "region:33010X"])
def test_malformed_scopes_are_refused(scope: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_scope(scope)
