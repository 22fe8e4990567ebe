"""Read side of the users screen (issue 10): the console users the acting user may see, in the
query (finance and audit roles: accounts of their region and below and of the units there;
unit admins: their unit's accounts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, or_, select

from publicpay.adapters.db.queries.scope import region_scope, unit_scope
from publicpay.adapters.db.units import units
from publicpay.adapters.db.users import users
from publicpay.domain.access import Actor, Role
from publicpay.domain.time import utc


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    role: Role
    region_code: str | None
    unit_id: int | None
    unit_name: str | None
    active: bool
    must_change_password: bool
    locked_until: datetime | None
    created_at: datetime
    unit_code: str | None = None


def _visible(actor: Actor) -> ColumnElement[bool]:
    by_unit = unit_scope(actor, users.c.unit_id, units.c.region_code)
    return or_(by_unit, region_scope(actor, users.c.region_code))


def visible_users(conn: Connection, actor: Actor) -> list[UserRow]:
    stmt = (
        select(users, units.c.name.label("unit_name"), units.c.code.label("unit_code"))
        .select_from(users.outerjoin(units, units.c.id == users.c.unit_id))
        .where(_visible(actor))
        .order_by(users.c.username)
    )
    return [_row(r) for r in conn.execute(stmt)]


def visible_user(conn: Connection, actor: Actor, user_id: int) -> UserRow | None:
    stmt = (
        select(users, units.c.name.label("unit_name"), units.c.code.label("unit_code"))
        .select_from(users.outerjoin(units, units.c.id == users.c.unit_id))
        .where(users.c.id == user_id, _visible(actor))
    )
    found = conn.execute(stmt).first()
    return None if found is None else _row(found)


def visible_user_by_name(conn: Connection, actor: Actor, username: str) -> UserRow | None:
    """One account by its username when the acting user sees it (None otherwise)."""
    stmt = (
        select(users, units.c.name.label("unit_name"), units.c.code.label("unit_code"))
        .select_from(users.outerjoin(units, units.c.id == users.c.unit_id))
        .where(users.c.username == username, _visible(actor))
    )
    found = conn.execute(stmt).first()
    return None if found is None else _row(found)


def _row(row: Any) -> UserRow:
    return UserRow(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        region_code=row.region_code,
        unit_id=row.unit_id,
        unit_name=row.unit_name,
        active=bool(row.active),
        must_change_password=bool(row.must_change_password),
        locked_until=utc(row.locked_until) if row.locked_until else None,
        created_at=utc(row.created_at),
        unit_code=row.unit_code,
    )
