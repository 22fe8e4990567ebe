"""The few statements that differ between SQLite and PostgreSQL.

Statements are built once (per dialect and table) and executed with bind parameters: building a
statement and its cache key on every call costs more than the driver does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, Select, Table, literal_column, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

_INSERT_IGNORE: dict[tuple[str, str], Executable] = {}
_NEXT_ID = {
    "postgresql": text("SELECT nextval('payable_serial')"),
    # SQLite: one writer at a time (BEGIN IMMEDIATE), so max+1 is safe.
    "sqlite": text("SELECT coalesce(max(id), 0) + 1 FROM payables"),
}


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted."""
    # rowcount is not reliable here (psycopg reports -1); a returned row is
    return conn.execute(_insert_ignore(conn.dialect.name, table), values).first() is not None


def _insert_ignore(dialect: str, table: Table) -> Executable:
    key = (dialect, table.name)
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(table).on_conflict_do_nothing().returning(literal_column("1"))
        _INSERT_IGNORE[key] = stmt
    return stmt


def for_update(stmt: Select[Any], *, skip_locked: bool = False) -> Select[Any]:
    """Row locks on PostgreSQL; SQLite already holds the database write lock (BEGIN IMMEDIATE)."""
    return stmt.with_for_update(skip_locked=skip_locked)


def next_payable_id(conn: Connection) -> int:
    """Payable ids are also the payment-code serial: a sequence on PostgreSQL (no hot row)."""
    return int(conn.execute(_NEXT_ID[conn.dialect.name]).scalar_one())
