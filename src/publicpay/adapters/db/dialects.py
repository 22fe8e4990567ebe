"""The only place where SQLite and PostgreSQL differ, chosen once when the engine is made.

Every repository statement is one SQLAlchemy Core construct that runs on both databases
(`sql.Sql` compiles it per dialect). What cannot be written once is listed here, by name:

- `Dialect.insert`: the INSERT construct that knows ON CONFLICT (each dialect has its own class,
  with the same `on_conflict_do_nothing` / `on_conflict_do_update` API); statements that need it
  are `Variant`s, built by the executor once per dialect.
- `Dialect.combine_writes`: PostgreSQL sends the writes a unit of work collected as one
  statement of data-modifying CTEs (one round trip); SQLite runs them one after another
  (in-process, nothing to save).
- `next_id(table, sequence)`: the next id of a table whose ids are drawn before the row is
  written (payables: the id is also the payment code's serial): `nextval` of its sequence on
  PostgreSQL (per row of the statement); on SQLite, which has one writer at a time (BEGIN
  IMMEDIATE), max(id) + the row's number.
- `xact_lock(key)`: a transaction-scoped advisory lock on PostgreSQL; nothing on SQLite, whose
  writers already hold the database's write lock.
- `local_hour(column)`: a UTC timestamp's hour in Asia/Shanghai as text `YYYY-MM-DD HH` (the
  statistics' trends): `to_char(… AT TIME ZONE 'Asia/Shanghai', …)` on PostgreSQL,
  `strftime(…, '+8 hours')` on SQLite (UTC text; Shanghai keeps no daylight saving time).
- `local_time_text(column)`: the same timestamp as 'YYYY-MM-DD HH:MM:SS' in Asia/Shanghai
  (exports), by `to_char` on PostgreSQL and `strftime` on SQLite.
- `Dialect.cursor`: psycopg's raw cursor (the compiled `$n` SQL as it is) or sqlite3's.
- Row locks (`SELECT … FOR UPDATE [SKIP LOCKED]`) need no entry: SQLite's compiler leaves the
  clause out, and its write lock serialises writers anyway.
- Connection set-up (WAL, durable commits, BEGIN IMMEDIATE on SQLite; a fixed pool on
  PostgreSQL) lives in `engine.py`, which picks the `Dialect` below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import RawCursor
from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import BigInteger, Integer, String


@dataclass(frozen=True, eq=False)
class Dialect:
    name: str
    compiler: SaDialect  # compiles statements to the driver's SQL (positional parameters)
    insert: Callable[[Table], Any]  # INSERT with ON CONFLICT support
    combine_writes: bool
    cursor: Callable[[Any], Any]  # the driver connection's cursor the executor runs on


POSTGRESQL = Dialect(
    name="postgresql",
    # `$n` parameters, run by psycopg's raw cursor as they are (no per-call query parsing)
    compiler=pg_psycopg.dialect(paramstyle="numeric_dollar"),  # type: ignore[no-untyped-call]
    insert=pg_insert,
    combine_writes=True,
    cursor=RawCursor,  # `$n` SQL as it is: no client-side query parsing per call
)
SQLITE = Dialect(
    name="sqlite",
    compiler=pysqlite.dialect(),
    insert=sqlite_insert,
    combine_writes=False,
    cursor=lambda driver: driver.cursor(),
)


def dialect_named(name: str) -> Dialect:
    if name == "postgresql":
        return POSTGRESQL
    if name == "sqlite":
        return SQLITE
    raise ValueError(f"unsupported database: {name}")


class Variant:
    """A statement that needs its dialect's own construct (an upsert): `build(dialect)` makes
    it, once per dialect, when the executor first runs it."""

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[Dialect], ClauseElement]) -> None:
        self._build = build
        self._built: dict[str, ClauseElement] = {}

    def for_dialect(self, dialect: Dialect) -> ClauseElement:
        stmt = self._built.get(dialect.name)
        if stmt is None:
            stmt = self._built[dialect.name] = self._build(dialect)
        return stmt


class next_id(FunctionElement[int]):
    """`next_id(table, "sequence")`: the id the next row of `table` should take."""

    type = BigInteger()
    inherit_cache = True
    name = "next_id"

    def __init__(self, table: Table, sequence: str) -> None:
        self.table = table
        self.sequence = sequence
        super().__init__()


@compiles(next_id, "postgresql")
def _next_id_postgresql(element: next_id, compiler: Any, **kw: Any) -> str:
    return f"nextval('{element.sequence}')"


@compiles(next_id, "sqlite")
def _next_id_sqlite(element: next_id, compiler: Any, **kw: Any) -> str:
    """max(id) + the row's number: a statement of n rows draws n ids."""
    biggest = select(func.coalesce(func.max(element.table.c.id), 0)).scalar_subquery()
    return f"({compiler.process(biggest, **kw)} + row_number() OVER ())"


class xact_lock(FunctionElement[int]):
    """`select(xact_lock(key))`: hold an advisory lock until the transaction ends."""

    type = Integer()
    inherit_cache = True
    name = "xact_lock"

    def __init__(self, key: int) -> None:
        self.lock_key = key
        super().__init__()


@compiles(xact_lock, "postgresql")
def _xact_lock_postgresql(element: xact_lock, compiler: Any, **kw: Any) -> str:
    return f"pg_advisory_xact_lock({element.lock_key})"


@compiles(xact_lock, "sqlite")
def _xact_lock_sqlite(element: xact_lock, compiler: Any, **kw: Any) -> str:
    return "1"


class local_hour(FunctionElement[str]):
    """`local_hour(ts_column)`: 'YYYY-MM-DD HH', the Asia/Shanghai hour of a UTC timestamp."""

    type = String()
    inherit_cache = True
    name = "local_hour"


@compiles(local_hour, "postgresql")
def _local_hour_postgresql(element: local_hour, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24')"


@compiles(local_hour, "sqlite")
def _local_hour_sqlite(element: local_hour, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H', {column}, '+8 hours')"


class local_time_text(FunctionElement[str]):
    """`local_time_text(ts_column)`: 'YYYY-MM-DD HH:MM:SS' in Asia/Shanghai, formatted by the
    database (exports: no datetime object per cell)."""

    type = String()
    inherit_cache = True
    name = "local_time_text"


@compiles(local_time_text, "postgresql")
def _local_time_text_postgresql(element: local_time_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')"


@compiles(local_time_text, "sqlite")
def _local_time_text_sqlite(element: local_time_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+8 hours')"
