"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, Table, literal_column, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt: Any = insert(table).values(**values).on_conflict_do_nothing()
    stmt = stmt.returning(literal_column("1"))
    # rowcount is not reliable here (psycopg reports -1); a returned row is
    return conn.execute(stmt).first() is not None


def for_update(stmt: Select[Any], *, skip_locked: bool = False) -> Select[Any]:
    """Row locks on PostgreSQL; SQLite already holds the database write lock (BEGIN IMMEDIATE)."""
    return stmt.with_for_update(skip_locked=skip_locked)


def next_payable_id(conn: Connection) -> int:
    """Payable ids are also the payment-code serial: a sequence on PostgreSQL (no hot row)."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT nextval('payable_serial')")).scalar_one())
    # SQLite: one writer at a time (BEGIN IMMEDIATE), so max+1 is safe.
    return int(conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM payables")).scalar_one())
