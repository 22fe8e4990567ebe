"""Claiming due work safely with many workers: lock the due rows with FOR UPDATE SKIP LOCKED
(PostgreSQL; SQLite already holds the write lock), then push their next attempt past a lease so
no other worker takes them while this one works on them outside the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, select, update

from publicpay.adapters.db.sql import Sql


class Leases:
    """The due rows of `table` (`due` may use a `now` parameter), oldest by `order_by` first."""

    def __init__(self, table: Table, due: ColumnElement[bool], order_by: tuple[Any, ...]) -> None:
        self._due = (
            select(table)
            .where(due)
            .order_by(*order_by)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
        self._lease = (
            update(table)
            .where(table.c.id.in_(bindparam("ids", expanding=True)))
            .values(next_attempt_at=bindparam("until"), attempts=table.c.attempts + 1)
        )

    def claim(self, sql: Sql, now: datetime, limit: int, lease: timedelta) -> list[Any]:
        """The due rows, leased until now + lease; their `attempts` counted up (the returned
        rows show the count from before the claim)."""
        rows = sql.all(self._due, {"now": now, "limit": limit})
        if rows:
            sql.run(self._lease, {"ids": [row.id for row in rows], "until": now + lease})
        return rows
