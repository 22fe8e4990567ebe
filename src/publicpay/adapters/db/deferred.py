"""Blind writes queued for one statement (PostgreSQL).

A write whose result nobody in the transaction reads (an event, an audit row, a state update
whose new values the caller already holds) is queued with `pg_defer` and sent together with
the others as one statement of data-modifying CTEs, saving a round trip and a statement each.
The queue goes out before any other statement runs on the connection (`dialect.pg_cursor`, and
the engine's `before_cursor_execute` hook), and at commit, so the transaction reads what it
wrote. On SQLite nothing is queued: `pg_defer` answers False and the caller runs the write.

The combined statement goes through psycopg's raw cursor with native `$n` placeholders,
converted once per statement shape: psycopg parses `%s` queries of more than 50 parameters
(ours have about 60) on every execution.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from psycopg import RawCursor
from sqlalchemy import Connection

_DEFERRED = "publicpay.deferred_writes"
_DEFERRED_KEYS = "publicpay.deferred_keys"
_AT_COMMIT = "publicpay.commit_writes"
_RAW_CURSOR = "publicpay.raw_cursor"
C = TypeVar("C")


def pg_defer(
    conn: Connection,
    sql: str,
    params: list[Any],
    *,
    key: tuple[Any, ...] | None = None,
    at_commit: bool = False,
) -> bool:
    """PostgreSQL: queue a blind write (nobody in this transaction reads its result) to go out
    with the others in one statement, saving a round trip each. Returns False on SQLite, where
    the caller runs it now.

    The queue goes out before any other statement runs on the connection (`pg_cursor`, and
    the engine's `before_cursor_execute` hook) and at commit, so reads see queued writes;
    `at_commit` writes (nobody reads them back, e.g. a request nonce) wait for the commit.
    `key` names the row written (e.g. `("payables", 7)`): a second write of a queued row first
    sends the queue, because the statements of one CTE cannot see each other's rows."""
    return pg_defer_ctes(conn, f"{{w}} AS ({sql})", params, key=key, at_commit=at_commit)


def pg_defer_ctes(
    conn: Connection,
    ctes: str,
    params: list[Any],
    *,
    key: tuple[Any, ...] | None = None,
    at_commit: bool = False,
) -> bool:
    """`pg_defer` for a write that needs several CTEs (e.g. a journal and its postings):
    `ctes` is `name AS (…), …` where every name starts with `{w}` and the last one is `{w}`."""
    if conn.dialect.name != "postgresql":
        return False
    if at_commit:
        conn.info.setdefault(_AT_COMMIT, []).append((ctes, params))
        return True
    keys: set[tuple[Any, ...]] = conn.info.setdefault(_DEFERRED_KEYS, set())
    if key is not None and key in keys:
        pg_flush(conn)
        keys = conn.info.setdefault(_DEFERRED_KEYS, set())
    if key is not None:
        keys.add(key)
    conn.info.setdefault(_DEFERRED, []).append((ctes, params))
    return True


def pg_flush(conn: Connection) -> None:
    """Send the queued writes (not the `at_commit` ones) as one statement of data-modifying
    CTEs (PostgreSQL runs every one of them within the transaction)."""
    conn.info.pop(_DEFERRED_KEYS, None)
    _send(conn, conn.info.pop(_DEFERRED, []))


def pg_flush_at_commit(conn: Connection) -> None:
    """Send every queued write, `at_commit` ones included (engine `commit` hook)."""
    conn.info.pop(_DEFERRED_KEYS, None)
    _send(conn, conn.info.pop(_DEFERRED, []) + conn.info.pop(_AT_COMMIT, []))


def _send(conn: Connection, writes: list[tuple[str, list[Any]]]) -> None:
    if not writes:
        return
    sql = _native(tuple(sql for sql, _ in writes))
    params = [value for _, values in writes for value in values]
    kept_cursor(conn, _RAW_CURSOR, RawCursor).execute(sql, params)


def kept_cursor(conn: Connection, name: str, make: Callable[[Any], C]) -> C:
    """The psycopg cursor `make(driver connection)` kept with the connection under `name`:
    creating a cursor costs more than a small statement."""
    cursor: C | None = conn.info.get(name)
    if cursor is None:
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = conn.info[name] = make(driver)
    return cursor


@lru_cache(maxsize=256)
def _native(writes: tuple[str, ...]) -> bytes:
    """The queued writes as one statement, `%s` numbered as `$1…` (our SQL has no other %)."""
    ctes = ", ".join(sql.replace("{w}", f"w{i}") for i, sql in enumerate(writes))
    parts = f"WITH {ctes} SELECT 1".split("%s")
    return (parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))).encode()


def pg_flush_before_statement(conn: Connection, *_: Any) -> None:
    """Engine hook (`before_cursor_execute`): SQLAlchemy statements see queued writes too."""
    if _DEFERRED in conn.info:
        pg_flush(conn)


def pg_discard(conn: Connection) -> None:
    """Forget queued writes (rollback): `conn.info` outlives the transaction."""
    for name in (_DEFERRED, _DEFERRED_KEYS, _AT_COMMIT):
        conn.info.pop(name, None)
