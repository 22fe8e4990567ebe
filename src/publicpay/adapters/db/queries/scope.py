"""Data scope as SQL: the rows of the units an acting console user may see, filtered in the
query itself (never by reading everything and filtering in Python).

The rule is `domain.access` (a finance role or auditor sees its region and every region below,
GB/T 2260; a unit role sees its own unit); here it becomes a WHERE clause over a unit's id and
its region code: a district is matched exactly, a city by its four-digit prefix, a province by
its two-digit prefix (`region_ancestors` read backwards).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false

from publicpay.domain.access import REGION_ROLES, UNIT_ROLES, Actor


def region_prefix(region_code: str) -> str:
    """330105 → "330105", 330100 → "3301", 330000 → "33": what the region's units start with."""
    if region_code[2:] == "0000":
        return region_code[:2]
    if region_code[4:] == "00":
        return region_code[:4]
    return region_code


def region_clause(region_code: str, region: Any) -> ColumnElement[bool]:
    prefix = region_prefix(region_code)
    if len(prefix) == 6:
        return region == prefix  # type: ignore[no-any-return]
    return region.startswith(prefix, autoescape=True)  # type: ignore[no-any-return]


def unit_scope(actor: Actor, unit_id: Any, region: Any) -> ColumnElement[bool]:
    """Rows whose unit (`unit_id`, with its `region` code column) the actor may see."""
    if actor.role in UNIT_ROLES and actor.unit_id is not None:
        return unit_id == actor.unit_id  # type: ignore[no-any-return]
    if actor.role in REGION_ROLES and actor.region_code:
        return region_clause(actor.region_code, region)
    return false()
