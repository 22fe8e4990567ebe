"""Reconciliation helpers for the integration tests: a payable paid (or not) through an
emulated channel, a run of one source's day, what the database says about lines and
exceptions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.reconciliation.tables import (
    recon_exceptions,
    statement_lines,
    statements,
)
from publicpay.adapters.reconciliation.engine import PolarsEngine
from publicpay.demo.stack import Stack, build_stack
from publicpay.domain.reconciliation import DayRecord, Source
from publicpay.domain.time import SHANGHAI
from publicpay.services.reconciliation.reconcile import import_statement, reconcile_day
from publicpay.settings import Mode, Settings
from tests.conftest import UNTHROTTLED
from tests.support.client import SignedClient
from tests.support.servers import free_port, serve


@contextmanager
def own_stack(
    database_url: str, account: str, *, settings: Mapping[str, Any] | None = None, **extra: Any
) -> Iterator[Stack]:
    """A platform of its own (served), so that its bank's days hold only one file's movements;
    `settings`: more of its settings, `extra`: `build_stack`'s options."""
    port = free_port()
    configured = Settings(
        mode=Mode.TEST,
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        recovery_after_s=3600,
        collection_account_number=account,
        **UNTHROTTLED,
        **(settings or {}),
    )
    built = build_stack(configured, emulator_time_scale=0.001, **extra)
    try:
        with serve(built.app, port=port):
            yield built
    finally:
        built.close()


def unit_api(stack: Any) -> SignedClient:
    """The first demo unit's signed API client."""
    unit = stack.info["units"][0]
    return SignedClient(stack.info["base_url"], unit["app_id"], unit["app_secret"])


def today() -> date:
    return datetime.now(SHANGHAI).date()


def run_day(stack: Any, source: str, day: date | None = None) -> DayRecord:
    c = stack.container
    return reconcile_day(
        c.uow, PolarsEngine(), c.statement_sources(), Source(source), day or today(), clock=c.clock
    )


def import_file(stack: Any, source: str, content: bytes, day: date | None = None) -> DayRecord:
    c = stack.container
    return import_statement(
        c.uow,
        PolarsEngine(),
        c.statement_sources(),
        Source(source),
        day or today(),
        content,
        clock=c.clock,
        actor="test",
    )


def line_of(stack: Any, order_no: str) -> Any:
    stmt = (
        select(statement_lines, statements.c.digest)
        .join(statements, statements.c.id == statement_lines.c.statement_id)
        .where(statement_lines.c.order_no == order_no, statements.c.status == "active")
    )
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).first()


def exceptions_for(stack: Any, key: str) -> list[Any]:
    stmt = select(recon_exceptions).where(recon_exceptions.c.key == key)
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def count(stack: Any, table: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return len(list(conn.execute(select(table.c.id))))


def statement_bytes(stack: Any, source: str, day: date | None = None) -> bytes:
    gateway = stack.container.gateways.get(source)
    return bytes(gateway.fetch_statement(day or today()))


def post(stack: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.info['base_url']}{path}", json=body, timeout=10)
