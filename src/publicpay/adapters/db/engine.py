"""Engines for SQLite (embedded default, WAL, durable commits) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from publicpay.adapters.db.dialects import Dialect, dialect_named


@dataclass(frozen=True)
class Engines:
    """`write` takes the write lock at BEGIN on SQLite (BEGIN IMMEDIATE); `read` does not.
    `dialect`: what differs between the databases, chosen here once (see dialects.py)."""

    write: Engine
    read: Engine

    @property
    def dialect(self) -> Dialect:
        return dialect_named(self.write.dialect.name)

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def make_engines(url: str, pool_size: int = 10) -> Engines:
    if make_url(url).get_backend_name() == "sqlite":
        return Engines(_sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    # A fixed pool: overflow connections would be opened and closed again on every burst, and a
    # new PostgreSQL backend (fork + warm-up) costs more than the request it serves. No pre-ping
    # (a round trip per checkout); connections are recycled instead.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_recycle=1800
    )
    return Engines(engine, engine)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if database and database != ":memory:" and immediate:
        # one writer at a time anyway: writers queue here, not in SQLite's sleeping busy handler
        options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # durable: the ledger lives here in the demo
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
