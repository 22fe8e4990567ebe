"""Claiming due work safely with many workers: lock the due rows with FOR UPDATE SKIP LOCKED
(PostgreSQL; SQLite already holds the write lock), then push their next attempt past a lease so
no other worker takes them while this one works on them outside the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, select, update

from publicpay.adapters.db.dialect import for_update


def claim_leased(
    conn: Connection,
    table: Table,
    due: ColumnElement[bool],
    order_by: tuple[Any, ...],
    limit: int,
    now: datetime,
    lease: timedelta,
) -> list[Row[Any]]:
    """Rows of `table` matching `due`, leased until now + lease; their `attempts` counted up
    (the returned rows show the count from before the claim)."""
    stmt = select(table).where(due).order_by(*order_by).limit(limit)
    rows = list(conn.execute(for_update(stmt, skip_locked=True)))
    if rows:
        conn.execute(
            update(table)
            .where(table.c.id.in_([row.id for row in rows]))
            .values(next_attempt_at=now + lease, attempts=table.c.attempts + 1)
        )
    return rows
