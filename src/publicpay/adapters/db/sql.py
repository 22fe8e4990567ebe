"""One executor for every repository statement, on SQLite and PostgreSQL alike.

A statement is a SQLAlchemy Core construct built once, where its repository defines it. `Sql`
runs it, compiled once per dialect (`compiled.py`), on the driver cursor of the unit of work's
connection: the same statement and the same conversions on both databases, without
SQLAlchemy's per-call execution layer (it costs more than the driver; bench/README.md). Rows
come back as named tuples and are mapped to domain objects by column name.

Reads and writes whose result the caller needs run at once (`one`, `all`, `scalar`, `run`).
Writes nobody in the transaction reads back (an aggregate's new state, a journal, an outbox
message, an audit row) are queued with `queue` and sent together by `flush`, which the unit of
work calls at commit: one statement of data-modifying CTEs on PostgreSQL, one after another on
SQLite (in-process: no round trip to save). Nothing else sends them: reading a table that has
queued writes is a programming error (`QueuedWriteRead`) — call the unit of work's `flush()`
first. Two writes of one row (same `key`) go in separate statements, because the CTEs of one
statement do not see each other's rows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import (
    Column,
    Connection,
    Table,
    UniqueConstraint,
    bindparam,
    cast,
    column,
    insert,
    select,
    true,
    values,
)
from sqlalchemy import table as table_clause
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.sql import ClauseElement

from publicpay.adapters.db.compiled import (
    CACHE_LIMIT,
    Compiled,
    compiled,
    expanding_names,
    lengths_of,
    picker,
)
from publicpay.adapters.db.dialects import Dialect, Variant, dialect_named

Statement = ClauseElement | Variant


class QueuedWriteRead(RuntimeError):
    """A statement read a table while writes to it waited in the queue (a programming error)."""


# --- writes queued by a unit of work and sent together ------------------------------------------


@dataclass(frozen=True, slots=True)
class Insert:
    """Rows of one table, all with the same keys. With `children`, the one row's generated `id`
    goes into each child row's `children_key` column (a journal and its postings)."""

    table: Table
    rows: tuple[Mapping[str, Any], ...]
    ignore_conflict: bool = False  # ON CONFLICT DO NOTHING
    children: Insert | None = None
    children_key: str = ""
    key: tuple[Any, ...] | None = None  # the row written, e.g. ("payables", 7)

    @property
    def tables(self) -> set[str]:
        return {self.table.name} | (self.children.tables if self.children else set())


@dataclass(frozen=True, slots=True)
class Change:
    """An UPDATE, DELETE or upsert statement (built once) with its parameters."""

    stmt: Statement
    params: Mapping[str, Any]
    key: tuple[Any, ...] | None = None


Write = Insert | Change


@lru_cache(maxsize=512)
def _insert_stmt(
    dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int, ignore: bool, ids: bool
) -> ClauseElement:
    rows_: list[dict[str, Any]] = [
        {c: bindparam(f"{c}__{i}") for c in columns} for i in range(rows)
    ]
    stmt: Any = dialect.insert(table) if ignore else insert(table)
    stmt = stmt.values(rows_) if rows > 1 else stmt.values(rows_[0])
    if ignore:
        stmt = stmt.on_conflict_do_nothing()
    if ids:
        return stmt.returning(*table.primary_key.columns)  # type: ignore[no-any-return]
    return stmt.inline()  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _children_stmt(
    table: Table, key: str, columns: tuple[str, ...], rows: int, parent: str
) -> ClauseElement:
    """INSERT INTO table (key, columns…) SELECT parent.id, v.* FROM parent JOIN (VALUES …) v."""
    source = table_clause(parent, column("id"))
    rows_in = values(
        *[column(f"c{i}", table.c[name].type) for i, name in enumerate(columns)], name="v"
    ).data(
        [
            tuple(cast(bindparam(f"{name}__{i}"), table.c[name].type) for name in columns)
            for i in range(rows)
        ]
    )
    chosen = select(source.c.id, *rows_in.c).select_from(source).join(rows_in, true())
    return insert(table).from_select([key, *columns], chosen)


# How a compiled INSERT's parameters come from its rows: (row index, column) or the value the
# statement carries (index -1), and which positions need a bind processor. Built once per
# compiled statement: the rows are read directly, without renaming every value `col__i` first.
_Plan = tuple[tuple[tuple[int, str, Any], ...], tuple[tuple[int, Callable[[Any], Any]], ...]]
_RowsReader = Callable[[Sequence[Mapping[str, Any]]], list[Any]]
_READERS: dict[int, tuple[Compiled, _RowsReader]] = {}


def _row_args(c: Compiled, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The arguments of an INSERT of `rows` (bound as `column__i`, see `_insert_stmt`)."""
    return _reader_of(c)(rows)


def _reader_of(c: Compiled) -> _RowsReader:
    hit = _READERS.get(id(c))
    if hit is None or hit[0] is not c:
        if len(_READERS) >= CACHE_LIMIT:
            _READERS.clear()
        hit = _READERS[id(c)] = (c, _rows_reader(c))  # the compiled statement is kept: its id stays
    return hit[1]


def _rows_reader(c: Compiled) -> _RowsReader:
    """`rows` → the arguments of `c`. Most INSERTs bind every row's columns in one order, row
    after row, with nothing the statement carries itself: then one `itemgetter` per row."""
    steps, processed = _plan(c)
    keys = [key for index, key, _ in steps if index == 0]
    count = 1 + max((index for index, _, _ in steps), default=-1)
    read: _RowsReader
    if count > 0 and list(steps) == [(i, key, None) for i in range(count) for key in keys]:
        pick = picker(keys)
        if count == 1:

            def read(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
                return list(pick(rows[0]))

        else:

            def read(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
                args: list[Any] = []
                for row in rows:
                    args += pick(row)
                return args

    else:

        def read(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
            return [rows[index][key] if index >= 0 else default for index, key, default in steps]

    if not processed:
        return read

    def read_processed(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        args = read(rows)
        for position, proc in processed:
            args[position] = proc(args[position])
        return args

    return read_processed


def _plan(c: Compiled) -> _Plan:
    steps: list[tuple[int, str, Any]] = []
    for name in c.names:
        key, _, index = name.rpartition("__")
        if key and index.isdigit():  # `column__i`: row i's column
            steps.append((int(index), key, None))
        else:  # a column default the statement carries
            steps.append((-1, name, c.defaults[name]))
    return tuple(steps), c.processed


_DOLLAR = re.compile(r"\$(\d+)")


def _renumbered(sql: str, offset: int) -> str:
    return sql if offset == 0 else _DOLLAR.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


def _kept_cursor(conn: Connection, dialect: Dialect) -> Any:
    """The driver cursor kept with the pooled connection (`conn.info` lives as long as the
    driver connection: SQLAlchemy clears it when it closes or invalidates one). Creating a
    cursor per unit of work costs more than a small statement."""
    cursor = conn.info.get(_CURSOR)
    if cursor is None:
        cursor = conn.info[_CURSOR] = dialect.cursor(conn.connection.driver_connection)
    return cursor


_CURSOR = "publicpay.sql.cursor"
_PG_TEXT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]  # named parameters, for COPY


class Sql:
    """The executor of one unit of work: one connection, one transaction."""

    def __init__(self, conn: Connection, dialect: Dialect | None = None) -> None:
        """`dialect`: the engine's (chosen once); by default the connection's own."""
        dialect = dialect or dialect_named(conn.dialect.name)
        self.dialect = dialect
        self._sa = dialect.compiler
        self._cursor: Any = _kept_cursor(conn, dialect)
        self._queue: list[Write] = []

    # reads and immediate writes

    def one(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Any:
        c = self._execute(stmt, params)
        raw = self._cursor.fetchone()
        return None if raw is None else c.make_row(raw)

    def all(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        c = self._execute(stmt, params)
        return [c.make_row(raw) for raw in self._cursor.fetchall()]

    def copy_csv(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> bytes | None:
        """The rows of a query as CSV (no header, NULL unquoted empty) written by PostgreSQL
        itself (`COPY (query) TO STDOUT`): a million rows without a Python object each. None
        on another database (read its rows instead)."""
        if self.dialect.name != "postgresql" or isinstance(stmt, Variant):
            return None
        self._checked(compiled(stmt, self._sa, lengths_of(stmt, params)))
        text = stmt.compile(dialect=_PG_TEXT, compile_kwargs={"render_postcompile": True})
        driver = self._cursor.connection
        sql = psycopg.ClientCursor(driver).mogrify(text.string, {**text.params, **(params or {})})
        out = bytearray()
        with driver.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                out += data
        return bytes(out)

    def scalar(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Any:
        row = self.one(stmt, params)
        return None if row is None else row[0]

    def run(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> int:
        """Run a write now; the number of rows it touched."""
        self._execute(stmt, params)
        return int(self._cursor.rowcount)

    def insert(self, table: Table, row: Mapping[str, Any], *, ignore_conflict: bool = False) -> Any:
        """Insert one row now; its primary key as a row (`.id`), None when a conflict was
        ignored."""
        stmt = _insert_stmt(self.dialect, table, tuple(row), 1, ignore_conflict, True)
        c = self._checked(compiled(stmt, self._sa))
        self._cursor.execute(c.sql, _row_args(c, (row,)))
        raw = self._cursor.fetchone()
        return None if raw is None else c.make_row(raw)

    def _execute(self, stmt: Statement, params: Mapping[str, Any] | None) -> Compiled:
        if isinstance(stmt, Variant):
            stmt = stmt.for_dialect(self.dialect)
        c = self._checked(compiled(stmt, self._sa, lengths_of(stmt, params)))
        self._cursor.execute(c.sql, c.args(params))
        return c

    def _checked(self, c: Compiled) -> Compiled:
        if self._queue:  # rare: most units of work read first and queue after
            queued = self._queued_tables()
            if not c.tables.isdisjoint(queued):
                raise QueuedWriteRead(
                    f"{sorted(c.tables & queued)} read with writes queued: flush first"
                )
        return c

    def _queued_tables(self) -> set[str]:
        tables: set[str] = set()
        for write in self._queue:
            tables.update(_tables_of(write, self.dialect))
        return tables

    # queued writes

    def queue(self, write: Write, *, first: bool = False) -> None:
        """Queue a write (`first`: ahead of the others, e.g. a request nonce)."""
        if first:
            self._queue.insert(0, write)
        else:
            self._queue.append(write)

    def flush(self) -> None:
        """Send every queued write, in order."""
        writes, self._queue = self._queue, []
        if not writes:
            return
        if not self.dialect.combine_writes:
            for write in writes:
                self._send_alone(write)
            return
        plans = _WRITE_PLANS.setdefault(self.dialect.name, {})
        expanding = _EXPANDING.setdefault(self.dialect.name, {})
        for group in _groups(writes):
            key = tuple([_shape(write, expanding, self.dialect) for write in group])
            plan = plans.get(key)
            if plan is None:
                plan = self._write_plan(group)
                if plan is None:  # more parameters than one statement takes: sent in parts
                    self._send_combined(group)
                    continue
                if len(plans) >= CACHE_LIMIT:
                    plans.clear()
                plans[key] = plan
            args: list[Any] = []
            for write, add in zip(group, plan.steps, strict=True):
                add(write, args)
            self._cursor.execute(plan.sql, args)

    def discard(self) -> None:
        self._queue = []

    def _send_alone(self, write: Write) -> None:
        if isinstance(write, Change):
            self._execute(write.stmt, write.params)
            return
        rows = write.rows
        stmt = _insert_stmt(
            self.dialect, write.table, tuple(rows[0]), len(rows), write.ignore_conflict, False
        )
        c = self._checked(compiled(stmt, self._sa))
        self._cursor.execute(c.sql, _row_args(c, rows))
        if write.children is not None:
            key = write.children_key
            children = tuple({**row, key: self._cursor.lastrowid} for row in write.children.rows)
            self._send_alone(Insert(write.children.table, children))

    def _send_combined(self, writes: Sequence[Write]) -> None:
        """PostgreSQL: the writes as the data-modifying CTEs of one statement, or of a few when
        they carry more parameters than one statement may (no plan is kept for those)."""
        parts: list[Compiled] = []
        args: list[Any] = []
        for write in writes:
            new, more = self._parts(write, f"w{len(parts)}")
            if parts and len(args) + len(more) > MAX_PARAMETERS:
                self._send_parts(parts, args)
                parts, args = [], []
                new, more = self._parts(write, "w0")
            parts += new
            args += more
        self._send_parts(parts, args)

    def _send_parts(self, parts: list[Compiled], args: list[Any]) -> None:
        key = tuple(id(c) for c in parts)
        text = _COMBINED.get(key)
        if text is None:
            if len(_COMBINED) >= CACHE_LIMIT:
                _COMBINED.clear()
            text = _COMBINED[key] = _combined_sql(parts)
        self._cursor.execute(text, args)

    def _write_plan(self, writes: Sequence[Write]) -> _WritePlan | None:
        """The combined statement of writes of these shapes, and how each write adds its
        arguments; None when it would take more parameters than one statement may."""
        parts: list[Compiled] = []
        steps: list[_Step] = []
        for write in writes:
            compiled_, step = self._step(write, f"w{len(parts)}")
            parts += compiled_
            steps.append(step)
        if sum(len(c.names) for c in parts) > MAX_PARAMETERS:
            return None
        return _WritePlan(_combined_sql(parts), tuple(steps), _kept(writes))

    def _step(self, write: Write, name: str) -> tuple[list[Compiled], _Step]:
        """The compiled statement(s) of a write and how a write of the same shape adds their
        arguments (`name`: the CTE the first statement becomes)."""
        if isinstance(write, Change):
            c = self._change_compiled(write)

            def change(w: Any, out: list[Any], args: Callable[..., list[Any]] = c.args) -> None:
                out += args(w.params)

            return [c], change
        rows, parent = write.rows, write.children is not None
        stmt = _insert_stmt(
            self.dialect, write.table, tuple(rows[0]), len(rows), write.ignore_conflict, parent
        )
        c = compiled(stmt, self._sa)
        of_rows = _reader_of(c)
        if write.children is None:

            def insert(w: Any, out: list[Any]) -> None:
                out += of_rows(w.rows)

            return [c], insert
        kids = write.children.rows
        child = _children_stmt(
            write.children.table, write.children_key, tuple(kids[0]), len(kids), name
        )
        cc = compiled(child, self._sa)
        of_kids = _reader_of(cc)

        def with_children(w: Any, out: list[Any]) -> None:
            out += of_rows(w.rows)
            out += of_kids(w.children.rows)

        return [c, cc], with_children

    def _change_compiled(self, write: Change) -> Compiled:
        """A queued UPDATE/DELETE/upsert compiled for this dialect (and its IN-list lengths)."""
        stmt = (
            write.stmt.for_dialect(self.dialect) if isinstance(write.stmt, Variant) else write.stmt
        )
        return compiled(stmt, self._sa, lengths_of(stmt, write.params))

    def _parts(self, write: Write, name: str) -> tuple[list[Compiled], list[Any]]:
        """The compiled statement(s) of one write and their arguments, worked out afresh (for a
        flush too large for one statement); `name`: the CTE the first one becomes (its children
        select the generated id from it)."""
        compiled_, step = self._step(write, name)
        args: list[Any] = []
        step(write, args)
        return compiled_, args


MAX_PARAMETERS = 30_000  # PostgreSQL takes 65,535 per statement
# the statement for a sequence of compiled writes (their ids: compiled statements are kept)
_COMBINED: dict[tuple[int, ...], str] = {}


def _combined_sql(parts: list[Compiled]) -> str:
    """`WITH w0 AS (…), w1 AS (…) SELECT 1`, each part's `$n` moved past the ones before."""
    ctes, offset = [], 0
    for i, c in enumerate(parts):
        ctes.append(f"w{i} AS ({_renumbered(c.sql, offset)})")
        offset += len(c.names)
    return "WITH " + ", ".join(ctes) + " SELECT 1"


# A flush's writes of the same shapes (the same statements, tables, row keys and row counts)
# make the same combined statement with the same parameters, each taken from the same place of
# its write: worked out once per sequence of shapes (`_shape`), per dialect.
_Step = Callable[[Any, list[Any]], None]  # appends a write's arguments


@dataclass(frozen=True, slots=True)
class _WritePlan:
    sql: str
    steps: tuple[_Step, ...]  # one per write
    kept: tuple[Any, ...]  # the statements and tables whose ids the key holds: ids stay theirs


_WRITE_PLANS: dict[str, dict[tuple[Any, ...], _WritePlan]] = {}
# per dialect: the IN-list parameters of a queued statement (by id; the statement is kept)
_EXPANDING: dict[str, dict[int, tuple[Statement, tuple[str, ...]]]] = {}


def _shape(
    write: Write, expanding: dict[int, tuple[Statement, tuple[str, ...]]], dialect: Dialect
) -> Any:
    """Everything the combined statement takes from a write (not its values): an INSERT's
    table, columns, row count, conflict clause and children; a change's statement and the
    lengths of its IN lists."""
    if isinstance(write, Insert):
        rows, kids = write.rows, write.children
        if kids is None:
            return (id(write.table), tuple(rows[0]), len(rows), write.ignore_conflict)
        return (
            *(id(write.table), tuple(rows[0]), len(rows), write.ignore_conflict),
            *(id(kids.table), write.children_key, tuple(kids.rows[0]), len(kids.rows)),
        )
    stmt = write.stmt
    hit = expanding.get(id(stmt))
    if hit is None or hit[0] is not stmt:
        built = stmt.for_dialect(dialect) if isinstance(stmt, Variant) else stmt
        if len(expanding) >= CACHE_LIMIT:
            expanding.clear()
        hit = expanding[id(stmt)] = (stmt, expanding_names(built))
    if not hit[1]:
        return id(stmt)
    return (id(stmt), tuple(len(write.params[name]) for name in hit[1]))


def _kept(writes: Sequence[Write]) -> tuple[Any, ...]:
    kept: list[Any] = []
    for write in writes:
        if isinstance(write, Change):
            kept.append(write.stmt)
        else:
            kept.append(write.table)
            if write.children is not None:
                kept.append(write.children.table)
    return tuple(kept)


def _tables_of(write: Write, dialect: Dialect) -> Iterable[str]:
    if isinstance(write, Insert):
        return (write.table.name,) if write.children is None else write.tables
    key = (id(write.stmt), dialect.name)
    hit = _TARGETS.get(key)
    if hit is None or hit[0] is not write.stmt:  # statements are built once: looked up once
        stmt = write.stmt.for_dialect(dialect) if isinstance(write.stmt, Variant) else write.stmt
        target = getattr(stmt, "table", None)
        if len(_TARGETS) >= CACHE_LIMIT:
            _TARGETS.clear()
        names = (target.name,) if isinstance(target, Table) else ()
        hit = _TARGETS[key] = (write.stmt, names)  # the statement is kept: its id stays
    return hit[1]


# the table a queued UPDATE/DELETE/upsert writes, per statement (kept with it) and dialect
_TARGETS: dict[tuple[int, str], tuple[Statement, tuple[str, ...]]] = {}


def _groups(writes: Sequence[Write]) -> list[list[Write]]:
    """Split where a row is written a second time: CTEs of one statement cannot see each other."""
    groups: list[list[Write]] = [[]]
    keys: set[tuple[Any, ...]] = set()
    for write in writes:
        if write.key is not None and write.key in keys:
            groups.append([])
            keys = set()
        if write.key is not None:
            keys.add(write.key)
        groups[-1].append(write)
    return groups


def violated_constraint(exc: BaseException, tables: Mapping[str, Table]) -> str | None:
    """The name of the unique constraint an IntegrityError violated, on either database:
    PostgreSQL names it; SQLite names the columns, which `tables` (the schema) maps back."""
    error = getattr(exc, "orig", exc)
    if isinstance(error, psycopg.IntegrityError):
        return getattr(error.diag, "constraint_name", None)
    if isinstance(error, sqlite3.IntegrityError):
        return _sqlite_constraint(str(error), tables)
    return None


def _sqlite_constraint(message: str, tables: Mapping[str, Table]) -> str | None:
    prefix = "UNIQUE constraint failed: "
    if not message.startswith(prefix):
        return None
    columns = [c.strip() for c in message[len(prefix) :].split(",")]
    table = tables.get(columns[0].split(".")[0])
    if table is None:
        return None
    wanted = {c.split(".", 1)[1] for c in columns}
    # only what is unique: a foreign key on the same columns (a set, in no order) is not it
    unique = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    unique_indexes = [i for i in table.indexes if i.unique]
    for constraint in [table.primary_key, *unique, *unique_indexes]:
        cols: list[Column[Any]] = list(getattr(constraint, "columns", []))
        name = getattr(constraint, "name", None)
        if name and {c.name for c in cols} == wanted:
            return str(name)
    return None
