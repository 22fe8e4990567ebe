"""Administration rules (issue 10): region prefixes for scope in the query, who may grant which
role, a new standard's place in an item's history, a unit draft's checks."""

from __future__ import annotations

from datetime import date

import pytest

from publicpay.demo.seed import credit_code
from publicpay.domain.access import Actor, Role, User, may_administer, may_grant, region_prefix
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    Standard,
    StandardKind,
    StandardOverlap,
    item_problems,
    new_standard_history,
    single_level,
)
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.units import UnitDraft

TODAY = date(2026, 12, 6)


def _actor(role: Role, region: str | None = "330105", unit: int | None = None) -> Actor:
    return Actor(1, "me", role, region, unit)


def _fixed(amount: int, start: date, end: date | None = None) -> Standard:
    return Standard(StandardKind.FIXED, start, end, amount_fen=amount, basis="文件")


@pytest.mark.parametrize(
    ("code", "prefix"), [("330000", "33"), ("330100", "3301"), ("330105", "330105")]
)
def test_a_regions_descendants_share_its_prefix(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


def test_a_finance_admin_grants_any_role_inside_its_region_only() -> None:
    city = _actor(Role.FINANCE_ADMIN, "330100")
    assert may_grant(city, Role.FINANCE_ADMIN, "330105", None)
    assert may_grant(city, Role.CASHIER, None, (7, "330105"))
    assert not may_grant(city, Role.AUDITOR, "330000", None)
    assert not may_grant(city, Role.UNIT_ADMIN, None, (7, "320105"))


def test_a_unit_admin_grants_only_cashiers_of_its_unit() -> None:
    unit_admin = _actor(Role.UNIT_ADMIN, None, unit=7)
    assert may_grant(unit_admin, Role.CASHIER, None, (7, "330105"))
    assert not may_grant(unit_admin, Role.CASHIER, None, (8, "330105"))
    assert not may_grant(unit_admin, Role.UNIT_ADMIN, None, (7, "330105"))
    assert not may_grant(unit_admin, Role.FINANCE_ADMIN, "330105", None)


@pytest.mark.parametrize("role", [Role.FINANCE_REVIEWER, Role.AUDITOR, Role.CASHIER])
def test_other_roles_grant_nothing(role: Role) -> None:
    assert not may_grant(_actor(role), Role.CASHIER, None, (7, "330105"))


def test_nobody_administers_their_own_account() -> None:
    me = User(1, "me", "h", b"", Role.FINANCE_ADMIN, "330105", None, True, 0, None)
    assert not may_administer(_actor(Role.FINANCE_ADMIN), me, None)


def test_a_new_standard_closes_the_open_one_the_day_before_it_starts() -> None:
    current = [_fixed(1000, date(2025, 1, 1))]
    closed, new = new_standard_history(current, _fixed(1500, date(2027, 1, 1)), TODAY)
    assert closed == _fixed(1000, date(2025, 1, 1), date(2026, 12, 31))
    assert new.amount_fen == 1500


def test_a_standard_overlapping_a_dated_one_is_refused() -> None:
    current = [_fixed(1000, date(2025, 1, 1), date(2027, 6, 30))]
    with pytest.raises(StandardOverlap, match="重叠") as refused:
        new_standard_history(current, _fixed(1500, date(2027, 1, 1)), TODAY)
    assert isinstance(refused.value, ValidationFailed)  # the console still answers 422


def test_a_new_item_whose_standards_overlap_each_other_is_refused() -> None:
    item = FeeItem(
        "AB01", "测试收费", Category.ADMIN_FEE, "1030199", Destination.TREASURY, "次",
        single_level(BudgetLevel.COUNTY),
        (_fixed(1000, date(2025, 1, 1)), _fixed(1500, date(2026, 1, 1))),
        legal_basis="文件",
    )  # fmt: skip
    assert "重叠" in item_problems(item)["standards"]


def test_a_standard_starting_before_today_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="不能早于今天"):
        new_standard_history([], _fixed(1500, date(2026, 12, 5)), TODAY)


@pytest.mark.parametrize(
    ("standard", "field"),
    [
        (Standard(StandardKind.FIXED, TODAY, basis="x"), "amount_fen"),
        (Standard(StandardKind.RANGE, TODAY, min_fen=500, max_fen=100, basis="x"), "min_fen"),
        (_fixed(100, TODAY, date(2026, 1, 1)), "valid_to"),
        (Standard(StandardKind.FIXED, TODAY, amount_fen=100), "basis"),
    ],
)
def test_a_standard_that_does_not_fit_its_kind_is_refused(standard: Standard, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        new_standard_history([], standard, TODAY)
    assert field in refused.value.errors


def test_a_unit_draft_checks_code_name_and_credit_code() -> None:
    good = UnitDraft("330105501", "测试单位", "330105", credit_code("11330105", "00249110"))
    assert good.problems() == {}
    bad = UnitDraft("x", "", "330105", "91330105MA27XXXXXX")
    assert set(bad.problems()) == {"code", "name", "credit_code"}
