"""Data scope as query conditions (issue 10, scope everywhere): a screen's statement carries
the acting user's scope in its WHERE clause, so rows out of scope are never read and an
out-of-scope id finds nothing (the page answers 404).

Region roles see their region and every region below it: GB/T 2260 codes of a region's
descendants share its prefix (`domain.access.region_prefix`), so the condition is one LIKE on
an indexed code column. Unit roles see their own unit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false

from publicpay.domain.access import REGION_ROLES, UNIT_ROLES, Actor, region_prefix


def region_scope(actor: Actor, region_column: Any) -> ColumnElement[bool]:
    """Rows whose region is the actor's or below it (nothing for unit roles)."""
    if actor.role not in REGION_ROLES or not actor.region_code:
        return false()
    condition: ColumnElement[bool] = region_column.like(region_prefix(actor.region_code) + "%")
    return condition


def unit_scope(actor: Actor, unit_id_column: Any, region_column: Any) -> ColumnElement[bool]:
    """Rows of a unit the actor sees: its own unit (unit roles), or a unit in its region."""
    if actor.role in UNIT_ROLES:
        if actor.unit_id is None:
            return false()
        condition: ColumnElement[bool] = unit_id_column == actor.unit_id
        return condition
    return region_scope(actor, region_column)
