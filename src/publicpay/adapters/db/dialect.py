"""The few statements that differ between SQLite and PostgreSQL.

Statements are built once (per dialect and table) and executed with bind parameters: building a
statement and its cache key on every call costs more than the driver does.

On PostgreSQL the hot path's statements (registration, payment confirmation) go one step
further: hand-written SQL on the psycopg cursor of the same connection and transaction
(`pg_cursor`), because SQLAlchemy's execution layer costs more per statement than the driver
(bench/README.md). SQLite keeps the portable SQLAlchemy statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import Cursor
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy import Connection, Executable, Select, Table, literal_column, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from publicpay.adapters.db.deferred import kept_cursor, pg_flush

_INSERT_IGNORE: dict[tuple[str, str], Executable] = {}
_NEXT_ID = {
    "postgresql": text("SELECT nextval('payable_serial')"),
    # SQLite: one writer at a time (BEGIN IMMEDIATE), so max+1 is safe.
    "sqlite": text("SELECT coalesce(max(id), 0) + 1 FROM payables"),
}


_PG_SQL: dict[tuple[str, tuple[str, ...], str], str] = {}
_CURSOR = "publicpay.cursor"


def pg_cursor(conn: Connection) -> Cursor[Any] | None:
    """PostgreSQL: a psycopg cursor in `conn`'s transaction (rows as named tuples), after the
    transaction's queued writes went out (`deferred.pg_flush`); None on SQLite. Errors are
    psycopg's own (`psycopg.IntegrityError`, not SQLAlchemy's). One cursor per connection."""
    if conn.dialect.name != "postgresql":
        return None
    pg_flush(conn)
    cursor: Cursor[Any] = kept_cursor(
        conn, _CURSOR, lambda driver: driver.cursor(row_factory=namedtuple_row)
    )
    return cursor


def pg_values(values: Mapping[str, Any]) -> list[Any]:
    """Parameters for psycopg: JSON columns' dicts and lists wrapped as JSON."""
    return [Json(v) if isinstance(v, dict | list) else v for v in values.values()]


def pg_insert_sql(table: str, columns: tuple[str, ...], suffix: str = "") -> str:
    """`INSERT INTO table (columns) VALUES (%s, …) suffix`, built once per shape."""
    key = (table, columns, suffix)
    sql = _PG_SQL.get(key)
    if sql is None:
        placeholders = ", ".join(["%s"] * len(columns))
        # identifiers come from the code, never from input; values are bound
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}){suffix}"  # noqa: S608
        _PG_SQL[key] = sql
    return sql


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted."""
    cursor = pg_cursor(conn)
    if cursor is not None:
        sql = pg_insert_sql(table.name, tuple(values), " ON CONFLICT DO NOTHING RETURNING 1")
        return cursor.execute(sql, pg_values(values)).fetchone() is not None
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
    cursor = pg_cursor(conn)
    if cursor is not None:
        row = cursor.execute("SELECT nextval('payable_serial') AS id").fetchone()
        assert row is not None
        return int(row.id)
    return int(conn.execute(_NEXT_ID[conn.dialect.name]).scalar_one())
