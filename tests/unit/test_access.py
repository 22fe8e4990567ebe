"""Console roles and data scope (domain.access): who may do what, and whose data they see."""

from __future__ import annotations

import pytest

from publicpay.domain.access import Actor, Permission, Role, validate_grant, validate_password
from publicpay.domain.errors import ValidationFailed


def _actor(role: Role, region: str | None = None, unit: int | None = None) -> Actor:
    return Actor(1, "someone", role, region, unit)


def test_only_the_finance_admin_allocates_stock_and_rotates_keys() -> None:
    allowed = {role for role in Role if _actor(role).can(Permission.ALLOCATE_STOCK)}
    rotating = {role for role in Role if _actor(role).can(Permission.ROTATE_KEYS)}
    assert allowed == rotating == {Role.FINANCE_ADMIN}


def test_every_role_but_the_cashier_may_open_the_write_off() -> None:
    allowed = {role for role in Role if _actor(role).can(Permission.VIEW_WRITE_OFF)}
    assert allowed == set(Role) - {Role.CASHIER}


@pytest.mark.parametrize(
    ("_case", "user_region", "unit_region", "sees"),
    [
        ("own district", "330105", "330105", True),
        ("city sees its district", "330100", "330105", True),
        ("province sees its district", "330000", "330105", True),
        ("neighbouring district", "330106", "330105", False),
        ("district does not see its city", "330105", "330100", False),
        ("another province", "320000", "330105", False),
    ],
)
def test_a_finance_user_sees_its_region_and_below(
    _case: str, user_region: str, unit_region: str, sees: bool
) -> None:
    actor = _actor(Role.FINANCE_REVIEWER, region=user_region)
    assert actor.sees_unit(7, unit_region) is sees
    assert actor.may(Permission.VIEW_WRITE_OFF, 7, unit_region) is sees


def test_a_unit_admin_sees_only_its_own_unit_whatever_the_region() -> None:
    actor = _actor(Role.UNIT_ADMIN, unit=7)
    assert actor.sees_unit(7, "330105")
    assert not actor.sees_unit(8, "330105")
    assert not actor.sees_region("330105")
    assert not actor.may(Permission.ALLOCATE_STOCK, 7, "330105")


def test_an_auditor_reads_its_granted_region_but_changes_nothing() -> None:
    actor = _actor(Role.AUDITOR, region="330100")
    assert actor.may(Permission.VIEW_WRITE_OFF, 7, "330105")
    assert not actor.can(Permission.ALLOCATE_STOCK)
    assert actor.audit_name == "user:someone"


@pytest.mark.parametrize(
    ("_case", "username", "role", "region", "unit"),
    [
        ("finance role without a region", "fin_a", "finance_admin", None, None),
        ("finance role with a unit", "fin_a", "finance_admin", "330105", 3),
        ("unit role without a unit", "cash_a", "cashier", None, None),
        ("unit role with a region", "cash_a", "unit_admin", "330105", 3),
        ("unknown role", "boss", "superuser", "330105", None),
        ("bad username", "Bad Name", "auditor", "330105", None),
        ("short region", "aud_a", "auditor", "3301", None),
    ],
)
def test_a_grant_that_does_not_fit_its_role_is_refused(
    _case: str, username: str, role: str, region: str | None, unit: int | None
) -> None:
    with pytest.raises(ValidationFailed):
        validate_grant(username, role, region, unit)


def test_a_grant_that_fits_gives_its_role() -> None:
    assert validate_grant("fin_a", "finance_admin", "330105", None) is Role.FINANCE_ADMIN
    assert validate_grant("cash_a", "cashier", None, 3) is Role.CASHIER


def test_a_short_password_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_password("short")
    assert refused.value.code == "validation_failed"
    validate_password("long-enough-1")
