"""The ceiling: the rows a registration and a confirmation write, as hand-written SQL through the
bare driver (psycopg 3 / sqlite3), one transaction each, no HTTP, no SQLAlchemy, at the same
concurrency as the HTTP runs (one thread and one connection per in-flight request).

Registration: nonce claim, idempotency check, serial, payable, its line, event, audit (7
statements; the app does the same in 2 transactions plus a read-only checkout). Confirmation:
order UPDATE … RETURNING, payable UPDATE … RETURNING, journal, postings (one multi-row INSERT),
event, receipt job, inbox row with its outcome, audit (8 statements; the app does 3 transactions:
inbox insert / 4 SELECTs + the writes / inbox update).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.database import BenchDb
from bench.load import LoadResult
from publicpay.domain.codes import make_payment_code

Work = Callable[[Any, Any], None]  # (connection, item) -> None


def _pg_connect(db: BenchDb) -> psycopg.Connection[Any]:
    url = make_url(db.url)
    return psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database
    )


def _sqlite_connect(db: BenchDb) -> sqlite3.Connection:
    conn = sqlite3.connect(make_url(db.url).database or "", isolation_level=None, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class _Sql:
    """The statements in each dialect's parameter style."""

    def __init__(self, db: BenchDb) -> None:
        self.pg = db.kind == "postgresql"

    def __call__(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def begin(self, conn: Any) -> None:
        if not self.pg:
            conn.execute("BEGIN IMMEDIATE")

    def json(self) -> str:
        return "?::json" if self.pg else "?"


def _run(db: BenchDb, items: list[Any], work: Work, concurrency: int) -> LoadResult:
    result = LoadResult()
    pending: Iterator[Any] = iter(items)
    lock = threading.Lock()
    # SQLite has one writer: queue the writers on a lock rather than in SQLite's busy handler,
    # which sleeps (up to 100 ms a time) and starves some of them (p99 > 1 s at 32 threads)
    writer_lock = threading.Lock() if db.kind == "sqlite" else contextlib.nullcontext()

    def worker() -> None:
        conn = connect(db)
        try:
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                started = time.perf_counter()
                with writer_lock:
                    work(conn, item)
                elapsed = time.perf_counter() - started
                with lock:
                    result.latencies_s.append(elapsed)
                    result.statuses[200] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def registrations(db: BenchDb, count: int, concurrency: int, unit_id: int) -> LoadResult:
    return _run(db, list(range(count)), registration_work(db, unit_id), concurrency)


def connect(db: BenchDb) -> Any:
    return _pg_connect(db) if db.kind == "postgresql" else _sqlite_connect(db)


def registration_work(db: BenchDb, unit_id: int) -> Work:
    sql = _Sql(db)
    serial = (
        "SELECT nextval('payable_serial')"
        if sql.pg
        else ("SELECT coalesce(max(id), 0) + 1 FROM payables")
    )

    def register(conn: Any, n: int) -> None:
        now = datetime.now(UTC)
        biz_no = "RAW" + uuid.uuid4().hex[:16]
        sql.begin(conn)
        conn.execute(
            sql(
                "INSERT INTO request_nonces (app_id, nonce, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            (db.app_id, uuid.uuid4().hex, now),
        ).fetchone()
        conn.execute(
            sql("SELECT id FROM payables WHERE unit_id = ? AND biz_no = ?"), (unit_id, biz_no)
        ).fetchone()
        payable_id = int(conn.execute(serial).fetchone()[0])
        code = make_payment_code("330105", now.year, "01", payable_id % 1_000_000_000)
        conn.execute(
            sql(
                "INSERT INTO payables (id, payment_code, unit_id, biz_no, request_hash, "
                "payer_name, payer_type, payer_id_enc, payer_id_hash, payer_id_masked, "
                "payer_phone_enc, amount_fen, status, due_date, remark, created_at, "
                "refunded_fen, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?)"
            ),
            (
                payable_id,
                code,
                unit_id,
                biz_no,
                uuid.uuid4().hex * 2,
                "张伟",
                "person",
                os.urandom(47),
                uuid.uuid4().hex * 2,
                "330105********1234",
                None,
                10000,
                "unpaid",
                None,
                "",
                now,
                0,
                1,
            ),
        )
        conn.execute(
            sql(
                "INSERT INTO payable_lines (payable_id, line_no, item_code, item_name, "
                "unit_of_measure, quantity, standard_fen, amount_fen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (payable_id, 1, "GA0101", "汽车号牌", "副", 1, 10000, 10000),
        )
        conn.execute(
            sql(
                "INSERT INTO events (event_id, unit_id, type, data, created_at, delivery, "
                f"attempts, next_attempt_at) VALUES (?, ?, ?, {sql.json()}, ?, ?, ?, ?)"
            ),
            (
                f"evt_{uuid.uuid4().hex}",
                unit_id,
                "payable.created",
                json.dumps({"payment_code": code, "biz_no": biz_no}),
                now,
                "none",
                0,
                None,
            ),
        )
        _audit(conn, sql, f"unit:{unit_id}", "payable.register", code, {"biz_no": biz_no}, now)
        conn.commit()

    return register


def _audit(
    conn: Any, sql: _Sql, actor: str, action: str, target: str, detail: object, now: datetime
) -> None:
    conn.execute(
        sql(
            "INSERT INTO audit_log (at, actor, action, target, detail) "
            f"VALUES (?, ?, ?, ?, {sql.json()})"
        ),
        (now, actor, action, target, json.dumps(detail)),
    )


def confirmations(
    db: BenchDb, orders: list[tuple[str, int]], concurrency: int, postings: int
) -> LoadResult:
    return _run(db, orders, confirmation_work(db, postings), concurrency)


def confirmation_work(db: BenchDb, postings: int) -> Work:
    sql = _Sql(db)
    receipt_jobs = _has_table(db, "receipt_jobs")

    def confirm(conn: Any, order: tuple[str, int]) -> None:
        order_no, amount_fen = order
        now = datetime.now(UTC)
        trade_no = "2026" + uuid.uuid4().hex[:24]
        sql.begin(conn)
        order_id, payable_id = conn.execute(
            sql(
                "UPDATE payment_orders SET status = 'succeeded', channel_trade_no = ?, "
                "paid_at = ?, version = version + 1 WHERE order_no = ? AND status = 'paying' "
                "RETURNING id, payable_id"
            ),
            (trade_no, now, order_no),
        ).fetchone()
        unit_id, code = conn.execute(
            sql(
                "UPDATE payables SET status = 'paid', paid_at = ?, paid_fen = ?, "
                "paid_order_id = ?, channel = 'alipay', version = version + 1 "
                "WHERE id = ? AND status = 'unpaid' RETURNING unit_id, payment_code"
            ),
            (now, amount_fen, order_id, payable_id),
        ).fetchone()
        journal_id = conn.execute(
            sql(
                "INSERT INTO ledger_journals (kind, ref, payable_id, business_date, created_at) "
                "VALUES ('payment', ?, ?, ?, ?) RETURNING id"
            ),
            (order_no, payable_id, now.date(), now),
        ).fetchone()[0]
        shares = [amount_fen] + [-amount_fen // (postings - 1)] * (postings - 1)
        values = ", ".join(["(?, ?, ?)"] * postings)
        conn.execute(
            sql(f"INSERT INTO ledger_postings (journal_id, account, amount_fen) VALUES {values}"),
            [x for n, fen in enumerate(shares) for x in (journal_id, f"acct-{n}", fen)],
        )
        conn.execute(
            sql(
                "INSERT INTO events (event_id, unit_id, type, data, created_at, delivery, "
                f"attempts, next_attempt_at) VALUES (?, ?, ?, {sql.json()}, ?, ?, ?, ?)"
            ),
            (
                f"evt_{uuid.uuid4().hex}",
                unit_id,
                "payable.paid",
                json.dumps({"payment_code": code, "order_no": order_no, "paid_fen": amount_fen}),
                now,
                "pending",
                0,
                now,
            ),
        )
        if receipt_jobs:
            conn.execute(
                sql(
                    "INSERT INTO receipt_jobs (kind, ref, payable_id, place, status, attempts, "
                    "next_attempt_at, created_at) VALUES ('issue', ?, ?, NULL, 'pending', 0, ?, ?)"
                ),
                (order_no, payable_id, now, now),
            )
        conn.execute(
            sql(
                "INSERT INTO inbox (channel, notify_id, order_no, body, received_at, "
                "processed_at, outcome) VALUES ('alipay', ?, ?, ?, ?, ?, 'paid') "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            (uuid.uuid4().hex, order_no, "x" * 900, now, now),
        ).fetchone()
        _audit(conn, sql, "channel:alipay", "payable.paid", code, {"order_no": order_no}, now)
        conn.commit()

    return confirm


def _has_table(db: BenchDb, name: str) -> bool:
    conn = connect(db)
    try:
        if db.kind == "postgresql":
            row = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
            return row[0] is not None
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None
    finally:
        conn.close()
