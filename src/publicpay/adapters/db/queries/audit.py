"""Read side of the audit log viewer (issue 10): filtered, paginated on the server, scoped in
the query.

An auditor (or finance admin) whose region covers the platform's own reads the whole log; one
of a region below reads the actions of the console users in its scope. Text filters are bound
parameters with LIKE wildcards escaped, so a search string is only ever a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, func, literal, or_, select, true

from publicpay.adapters.db.audit import audit_log, recorded
from publicpay.adapters.db.queries.scope import region_scope, unit_scope
from publicpay.adapters.db.units import units
from publicpay.adapters.db.users import users
from publicpay.domain.access import Actor
from publicpay.domain.time import SHANGHAI, utc

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AuditFilter:
    user: str = ""
    action: str = ""
    target: str = ""
    day_from: date | None = None
    day_to: date | None = None
    page: int = 1


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    sealed: bool


def _scope(actor: Actor, whole_log: bool) -> ColumnElement[bool]:
    if whole_log:
        return true()
    visible = (
        select(literal("user:", String) + users.c.username)
        .select_from(users.outerjoin(units, units.c.id == users.c.unit_id))
        .where(
            or_(
                unit_scope(actor, users.c.unit_id, units.c.region_code),
                region_scope(actor, users.c.region_code),
            )
        )
    )
    return audit_log.c.actor.in_(visible.scalar_subquery())


def _conditions(f: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.user:
        found.append(audit_log.c.actor.contains(f.user, autoescape=True))
    if f.action:
        found.append(audit_log.c.action.startswith(f.action, autoescape=True))
    if f.target:
        found.append(audit_log.c.target.contains(f.target, autoescape=True))
    if f.day_from:
        found.append(audit_log.c.at >= datetime.combine(f.day_from, time(), SHANGHAI))
    if f.day_to:
        end = datetime.combine(f.day_to + timedelta(days=1), time(), SHANGHAI)
        found.append(audit_log.c.at < end)
    return found


def audit_page(
    conn: Connection, actor: Actor, f: AuditFilter, *, whole_log: bool
) -> tuple[list[AuditRow], int]:
    """One page of matching rows (newest first) and how many rows match in all."""
    where = recorded(_scope(actor, whole_log), *_conditions(f))
    total = int(conn.execute(select(func.count()).select_from(audit_log).where(where)).scalar_one())
    stmt = (
        select(audit_log)
        .where(where)
        .order_by(audit_log.c.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(f.page, 1) - 1) * PAGE_SIZE)
    )
    rows = [
        AuditRow(
            r.id, utc(r.at), r.actor, r.action, r.target, dict(r.detail or {}), r.hash is not None
        )
        for r in conn.execute(stmt)
    ]
    return rows, total


def action_names(conn: Connection) -> list[str]:
    """The actions recorded so far (for the filter's choices)."""
    stmt = select(audit_log.c.action).distinct().order_by(audit_log.c.action)
    return [str(r.action) for r in conn.execute(stmt)]
